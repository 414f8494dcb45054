/** ANSI styling when writing to a terminal, plain text otherwise. */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
}

const wrap =
  (on: boolean, code: string) =>
  (s: string): string =>
    on ? `\x1b[${code}m${s}\x1b[0m` : s;

export function createStyle(colour: boolean): Style {
  return {
    bold: wrap(colour, '1'),
    dim: wrap(colour, '2'),
    green: wrap(colour, '32'),
    yellow: wrap(colour, '33'),
    red: wrap(colour, '31'),
    cyan: wrap(colour, '36'),
  };
}

/** `1234` → `1.2 s`, `87` → `87 ms`. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
