/** RFC 6902 operations, as the admission response and fast-json-patch expect them. */
export type PatchOperation =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'replace'; path: string; value: unknown };

/** RFC 6901: `~` becomes `~0` first, then `/` becomes `~1` (the other order would corrupt `~1`). */
export function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** The reference tokens of a JSON Pointer, unescaped (`~1` → `/` first, then `~0` → `~`). */
export function pointerTokens(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/**
 * Operations turning `before` into `after`, two lists of objects whose untouched elements are the
 * same references (the engine never copies what it does not change). Removals go from the highest
 * index down, so earlier indexes stay valid; insertions go in ascending final index, so each lands
 * where it ends up. An absent array is added whole (RFC 6902 cannot add into a missing parent).
 */
export function diffList(
  path: string,
  before: readonly unknown[] | undefined,
  after: readonly unknown[],
): PatchOperation[] {
  if (before === undefined) return after.length > 0 ? [{ op: 'add', path, value: after }] : [];
  const ops: PatchOperation[] = [];
  const kept = new Set(after);
  for (let i = before.length - 1; i >= 0; i--) {
    if (!kept.has(before[i])) ops.push({ op: 'remove', path: `${path}/${i}` });
  }
  const original = new Set(before);
  let length = before.length - ops.length;
  after.forEach((item, i) => {
    if (original.has(item)) return;
    ops.push({ op: 'add', path: i === length ? `${path}/-` : `${path}/${i}`, value: item });
    length++;
  });
  return ops;
}

/** Operations turning one string map into another; `add` on an existing key replaces its value. */
export function diffMap(
  path: string,
  before: Readonly<Record<string, string>> | undefined,
  after: Readonly<Record<string, string>>,
): PatchOperation[] {
  if (before === undefined) return Object.keys(after).length > 0 ? [{ op: 'add', path, value: after }] : [];
  const ops: PatchOperation[] = [];
  for (const key of Object.keys(before)) {
    if (!Object.hasOwn(after, key)) ops.push({ op: 'remove', path: `${path}/${escapePointer(key)}` });
  }
  for (const [key, value] of Object.entries(after)) {
    if (before[key] !== value) ops.push({ op: 'add', path: `${path}/${escapePointer(key)}`, value });
  }
  return ops;
}
