import { describe, expect, it } from 'vitest';
import { Gate } from './limits.js';

describe('Gate', () => {
  it('admits up to its limit, and a place given back twice is given back once', () => {
    const gate = new Gate(2);
    const a = gate.enter();
    const b = gate.enter();
    expect(a).toBeTypeOf('function');
    expect(b).toBeTypeOf('function');
    expect(gate.enter()).toBeUndefined();
    a!();
    a!();
    expect(gate.inFlight).toBe(1);
    const c = gate.enter();
    expect(c).toBeTypeOf('function');
    expect(gate.enter()).toBeUndefined();
    b!();
    c!();
    expect(gate.inFlight).toBe(0);
  });
});
