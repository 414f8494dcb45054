import type { Table } from './rules.js';

/** One table as `iptables-save` prints it: its chains and its `-A` lines, in order. */
export interface SavedTable {
  chains: string[];
  rules: string[];
}

/** Parses `iptables-save` output; tables that do not appear are absent from the result. */
export function parseSave(text: string): Partial<Record<Table, SavedTable>> {
  const out: Partial<Record<string, SavedTable>> = {};
  let current: SavedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      current = { chains: [], rules: [] };
      out[line.slice(1)] = current;
    } else if (line === 'COMMIT') {
      current = undefined;
    } else if (current && line.startsWith(':')) {
      current.chains.push(line.slice(1).split(/\s+/)[0] ?? '');
    } else if (current && line.startsWith('-A ')) {
      current.rules.push(line);
    }
  }
  return out;
}

/** Counts exact occurrences of a rule line; how tests and apply tell "present once" from "absent". */
export function countRule(table: SavedTable | undefined, line: string): number {
  return table ? table.rules.filter((r) => r === line).length : 0;
}
