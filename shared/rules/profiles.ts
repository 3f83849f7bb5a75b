// Encode profiles (issue 21): which settings a folder's videos are encoded with. A library names them in
// `.reelpress/profiles.json`; this module parses that file, strictly, and resolves a key's profile.
// Anyone who may write into the library may write this file, so nothing in it reaches ffmpeg unchecked:
// fields are a closed set, every value matches its own pattern, and nothing can name a file, a format,
// a protocol or a filter.
import { UserError } from "../errors.ts";
import { EncodeProfile } from "../schemas.ts";
import { normalizePrefix, SYSTEM_PREFIX } from "./naming.ts";

export type { EncodeProfile };

/** Where a library keeps its profiles (under `.reelpress/`, so it is never taken for a video). */
export const PROFILES_KEY = `${SYSTEM_PREFIX}profiles.json`;
/** A profiles file larger than this is refused unread: it is a few lines of JSON. */
export const PROFILES_MAX_BYTES = 64 * 1024;

/** Today's H.264 MP4 (compress v3's table); its x264 preset is the runner's REELPRESS_X264_PRESET. */
export const COMPAT: EncodeProfile = { name: "compat", base: "compat", encoder: "x264", quality: 23 };
/** videoArchiver's archive: every video stream visually lossless, every audio stream Opus 128 kbit/s, in MKV. */
export const ARCHIVE: EncodeProfile = { name: "archive", base: "archive", encoder: "x264", quality: 18, preset: "veryslow" };
export const BUILT_IN: Readonly<Record<string, EncodeProfile>> = { compat: COMPAT, archive: ARCHIVE };

const isBuiltIn = (name: string) => Object.hasOwn(BUILT_IN, name);

export const PRESETS = EncodeProfile.shape.preset.unwrap().options;

const NUM = (int: number, frac = 2) => `\\d{1,${int}}(\\.\\d{1,${frac}})?`;
const pattern = (re: string) => new RegExp(`^(${re})$`);
/** x264 takes pairs as "a,b" too; ":" would end the option inside `-x264-params`, so it is never allowed. */
const pair = (re: string) => pattern(`${re},${re}`);

/**
 * The encoder parameters a custom profile may set (`-x264-params` / `-x265-params`), each with the one
 * shape its value may have. Only digits, signs, dots, commas and fixed words: no value can hold ":" or
 * "=" (another parameter), a path, or a stats file name.
 */
export const PARAMS: Readonly<Record<"x264" | "x265", Readonly<Record<string, RegExp>>>> = {
  x264: {
    "aq-mode": pattern("[0-3]"),
    "aq-strength": pattern(NUM(1)),
    "psy-rd": pattern(`${NUM(1)}(,${NUM(1)})?`),
    bframes: pattern("[0-9]|1[0-6]"),
    "b-adapt": pattern("[0-2]"),
    ref: pattern("[1-9]|1[0-6]"),
    deblock: pair("-?[0-6]"),
    keyint: pattern("[1-9]\\d{0,3}|infinite"),
    "min-keyint": pattern("[1-9]\\d{0,3}"),
    "rc-lookahead": pattern("\\d{1,3}"),
    me: pattern("dia|hex|umh|esa|tesa"),
    subme: pattern("\\d|1[01]"),
    merange: pattern("\\d{1,2}"),
    trellis: pattern("[0-2]"),
    "no-fast-pskip": pattern("[01]"),
    "no-dct-decimate": pattern("[01]"),
  },
  x265: {
    "aq-mode": pattern("[0-4]"),
    "aq-strength": pattern(NUM(1)),
    "psy-rd": pattern(NUM(1)),
    "psy-rdoq": pattern(NUM(2)),
    bframes: pattern("[0-9]|1[0-6]"),
    "b-adapt": pattern("[0-2]"),
    ref: pattern("[1-9]|1[0-6]"),
    deblock: pair("-?[0-6]"),
    keyint: pattern("-?[1-9]\\d{0,3}"),
    "min-keyint": pattern("[1-9]\\d{0,3}"),
    "rc-lookahead": pattern("\\d{1,3}"),
    me: pattern("dia|hex|umh|star|sea|full"),
    subme: pattern("[0-7]"),
    merange: pattern("\\d{1,2}"),
    rd: pattern("[1-6]"),
    sao: pattern("[01]"),
    "limit-sao": pattern("[01]"),
    "strong-intra-smoothing": pattern("[01]"),
  },
};

/** A library's profiles: every one by name, each folder's (longest folder first), and the default. */
export type ProfileTable = { profiles: Readonly<Record<string, EncodeProfile>>; defaultProfile: EncodeProfile; folders: Array<{ prefix: string; profile: EncodeProfile }> };

/** The table of a library with no profiles file: compat everywhere. */
export const DEFAULT_TABLE: ProfileTable = { profiles: BUILT_IN, defaultProfile: COMPAT, folders: [] };

export function profileNames(table: ProfileTable): string[] {
  return Object.keys(table.profiles);
}

/** The one error a bad profiles file gives: where in the file, and what is wrong, in one sentence. */
export class ProfileError extends UserError {
  /** The mistake without naming the file, for a profile that arrived in a job instead. */
  readonly detail: string;
  constructor(where: string, problem: string) {
    const detail = `${where ? `${where} ` : ""}${problem.replace(/\.$/, "")}`;
    super(`Bad ${PROFILES_KEY}: ${detail}.`);
    this.name = "ProfileError";
    this.detail = detail;
  }
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown) => JSON.stringify(v)?.slice(0, 60) ?? String(v);

function onlyFields(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const field of Object.keys(obj)) {
    if (!allowed.includes(field)) throw new ProfileError(where, `has ${show(field)}, which is not allowed (allowed: ${allowed.join(", ")})`);
  }
}

/** Pure: one custom profile, checked field by field against the allow-lists. */
export function parseCustomProfile(name: string, raw: unknown): EncodeProfile {
  const where = `profiles.${name}`;
  if (!NAME.test(name)) throw new ProfileError("profiles", `has a profile named ${show(name)}: names are 1-32 lower-case letters, digits or '-', starting with a letter`);
  if (isBuiltIn(name)) throw new ProfileError(where, "redefines a built-in profile; give yours another name");
  if (!isObject(raw)) throw new ProfileError(where, "must be an object");
  onlyFields(raw, ["base", "encoder", "quality", "preset", "params"], where);
  const base = raw.base ?? "compat";
  if (base !== "compat" && base !== "archive") throw new ProfileError(`${where}.base`, `is ${show(base)}; must be "compat" or "archive"`);
  const builtIn = BUILT_IN[base];
  const encoder = raw.encoder ?? builtIn.encoder;
  if (encoder !== "x264" && encoder !== "x265") throw new ProfileError(`${where}.encoder`, `is ${show(encoder)}; must be "x264" or "x265"`);
  const quality = raw.quality ?? builtIn.quality;
  if (typeof quality !== "number" || !Number.isInteger(quality) || quality < 0 || quality > 51) {
    throw new ProfileError(`${where}.quality`, `is ${show(quality)}; must be a whole number from 0 (best) to 51 (the encoder's CRF)`);
  }
  const preset = raw.preset ?? builtIn.preset;
  if (preset !== undefined && !(PRESETS as readonly unknown[]).includes(preset)) throw new ProfileError(`${where}.preset`, `is ${show(preset)}; must be one of ${PRESETS.join(", ")}`);
  const params = parseParams(raw.params, encoder, `${where}.params`);
  return EncodeProfile.parse({ name, base, encoder, quality, preset, ...(params && { params }) });
}

function parseParams(raw: unknown, encoder: "x264" | "x265", where: string): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) throw new ProfileError(where, `must be an object of ${encoder} parameters, such as {"aq-mode": "3"}`);
  const allowed = PARAMS[encoder];
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    const rule = Object.hasOwn(allowed, key) ? allowed[key] : undefined;
    if (!rule) throw new ProfileError(where, `has ${show(key)}, which is not an allowed ${encoder} parameter (allowed: ${Object.keys(allowed).join(", ")})`);
    const text = typeof value === "number" ? String(value) : value;
    if (typeof text !== "string" || !rule.test(text)) throw new ProfileError(`${where}.${key}`, `is ${show(value)}, which is not a value it may have`);
    out[key] = text;
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * Pure: the text of a profiles file → its table, or ProfileError naming the first mistake.
 * `{"default": "compat", "folders": {"films/": "archive"}, "profiles": {"small": {...}}}`
 */
export function parseProfiles(text: string): ProfileTable {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ProfileError("", `is not JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) throw new ProfileError("", "must be a JSON object");
  onlyFields(raw, ["default", "folders", "profiles"], "the file");
  const profiles: Record<string, EncodeProfile> = { ...BUILT_IN };
  if (raw.profiles !== undefined) {
    if (!isObject(raw.profiles)) throw new ProfileError("profiles", "must be an object of named profiles");
    for (const [name, value] of Object.entries(raw.profiles)) profiles[name] = parseCustomProfile(name, value);
  }
  const named = (value: unknown, where: string): EncodeProfile => {
    const profile = typeof value === "string" && Object.hasOwn(profiles, value) ? profiles[value] : undefined;
    if (!profile) throw new ProfileError(where, `names ${show(value)}, which is not a profile (known: ${Object.keys(profiles).join(", ")})`);
    return profile;
  };
  const defaultProfile = raw.default === undefined ? COMPAT : named(raw.default, "default");
  const folders: ProfileTable["folders"] = [];
  if (raw.folders !== undefined) {
    if (!isObject(raw.folders)) throw new ProfileError("folders", `must be an object of folder → profile name, such as {"films/": "archive"}`);
    for (const [folder, value] of Object.entries(raw.folders)) {
      const prefix = normalizePrefix(folder);
      if (!prefix || prefix.split("/").some((part) => part === "." || part === "..") || prefix.startsWith(SYSTEM_PREFIX)) {
        throw new ProfileError("folders", `has ${show(folder)}, which is not a library folder`);
      }
      if (folders.some((f) => f.prefix === prefix)) throw new ProfileError("folders", `names ${show(prefix)} twice`);
      folders.push({ prefix, profile: named(value, `folders.${JSON.stringify(folder)}`) });
    }
  }
  folders.sort((a, b) => b.prefix.length - a.prefix.length);
  return { profiles, defaultProfile, folders };
}

/** Pure: the profile for a key: its deepest folder's, else the default. */
export function profileFor(table: ProfileTable, key: string): EncodeProfile {
  return table.folders.find((f) => key.startsWith(f.prefix))?.profile ?? table.defaultProfile;
}

/** Pure: two profiles are the same settings (field order and absent fields aside). */
export function sameProfile(a: EncodeProfile | undefined, b: EncodeProfile | undefined): boolean {
  return canonical(a ?? COMPAT) === canonical(b ?? COMPAT);
}

function canonical(p: EncodeProfile): string {
  const params = Object.entries(p.params ?? {}).sort(([x], [y]) => x.localeCompare(y));
  return JSON.stringify([p.name, p.base, p.encoder, p.quality, p.preset ?? null, params]);
}

/** The container a profile's outputs are written in. */
export function containerOf(profile: EncodeProfile | undefined): "mp4" | "mkv" {
  return profile?.base === "archive" ? "mkv" : "mp4";
}

/**
 * Pure: why a profile that arrived in a message or a record is refused, or undefined. A built-in must be
 * exactly the built-in; a custom one must pass the same checks as the file.
 */
export function profileRefusal(profile: EncodeProfile): string | undefined {
  if (isBuiltIn(profile.name)) return sameProfile(profile, BUILT_IN[profile.name]) ? undefined : `profile ${profile.name} differs from the built-in one`;
  try {
    const { name, ...fields } = profile;
    parseCustomProfile(name, fields);
    return undefined;
  } catch (err) {
    return err instanceof ProfileError ? err.detail : String(err);
  }
}
