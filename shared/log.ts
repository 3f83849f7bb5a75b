// How every part reports what it did: an event name with JSON fields (Lambda prints them as JSON
// lines, the CLI as text), and optionally the line a person reads instead.
export type Log = (event: string, fields: Record<string, unknown>, text?: string) => void;
