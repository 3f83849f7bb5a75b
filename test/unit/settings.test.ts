import { describe, expect, it } from "vitest";
import { UserError } from "../../shared/errors.ts";
import { booleanSetting, durationMsSetting, enumSetting, numberSetting } from "../../shared/settings.ts";

describe("settings from the environment", () => {
  const N = "REELPRESS_TEST";
  it.each([
    ["unset", {}, { fallback: 7 }, 7],
    ["blank", { [N]: " " }, { fallback: 7 }, 7],
    ["a number", { [N]: "2.5" }, { fallback: 7 }, 2.5],
    ["at a bound", { [N]: "3" }, { fallback: 7, integer: true, min: 3, max: 5 }, 3],
  ])("numberSetting: %s", (_, env, rule, expected) => {
    expect(numberSetting(env, N, rule)).toBe(expected);
  });

  it.each([
    [{ [N]: "soon" }, { fallback: 1, unit: "seconds" }, `Bad setting ${N} = "soon": must be a number of seconds.`],
    [{ [N]: "0" }, { fallback: 1, unit: "seconds", positive: true }, `Bad setting ${N} = "0": must be a positive number of seconds.`],
    [{ [N]: "2.5" }, { fallback: 3, integer: true, min: 3, max: 9 }, `Bad setting ${N} = "2.5": must be a whole number from 3 to 9.`],
    [{ [N]: "-1" }, { fallback: 1, min: 0, note: "(0 turns it off)" }, `Bad setting ${N} = "-1": must be a number ≥ 0 (0 turns it off).`],
  ])("numberSetting refuses %j in one sentence", (env, rule, message) => {
    expect(() => numberSetting(env, N, rule)).toThrow(new UserError(message));
  });

  it("durationMsSetting reads seconds or minutes as milliseconds", () => {
    expect(durationMsSetting({ [N]: "1.5" }, N, { fallback: 0, unit: "seconds" })).toBe(1500);
    expect(durationMsSetting({ [N]: "0.5" }, N, { fallback: 0, unit: "minutes" })).toBe(30_000);
    expect(durationMsSetting({}, N, { fallback: 2, unit: "minutes" })).toBe(120_000);
  });

  it("booleanSetting takes true or false (1 or 0), any case, and refuses the rest in one sentence", () => {
    expect(booleanSetting({ [N]: "TRUE" }, N, false)).toBe(true);
    expect(booleanSetting({ [N]: "0" }, N, true)).toBe(false);
    expect(booleanSetting({ [N]: " " }, N, true)).toBe(true);
    expect(() => booleanSetting({ [N]: "yes please" }, N, true)).toThrow(new UserError(`Bad setting ${N} = "yes please": must be true or false.`));
  });

  it("enumSetting takes one of its values, or names them all", () => {
    expect(enumSetting({ [N]: "b" }, N, ["a", "b", "c"], "a")).toBe("b");
    expect(enumSetting({}, N, ["a", "b", "c"], "c")).toBe("c");
    expect(() => enumSetting({ [N]: "d" }, N, ["a", "b", "c"], "a")).toThrow(`Bad setting ${N} = "d": must be a, b or c.`);
  });
});
