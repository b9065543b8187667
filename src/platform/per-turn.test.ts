import { describe, expect, it } from 'vitest';
import { perTurnLoader, sharedPerTurn } from './per-turn.js';

const nextTurn = () => new Promise((r) => setImmediate(r));

describe('reads shared within one turn of the event loop', () => {
  it('loads asked for in the same turn reach the batch together, each answered with its own value', async () => {
    const batches: string[][] = [];
    const loader = perTurnLoader<string, string | null>(async (keys) => {
      batches.push([...keys]);
      return keys.map((k) => (k === 'nobody' ? null : k.toUpperCase()));
    });
    // Asked at different points of one turn (one after an await of something already settled).
    const a = loader.load('alice');
    const b = Promise.resolve().then(() => loader.load('bob'));
    const c = loader.load('nobody');
    expect(await Promise.all([a, b, c])).toEqual(['ALICE', 'BOB', null]);
    expect(batches).toEqual([['alice', 'nobody', 'bob']]);
  });

  it('remembers nothing: a later turn reads again and sees what changed', async () => {
    let value = 'before';
    let reads = 0;
    const current = sharedPerTurn(async () => {
      reads += 1;
      return value;
    });
    expect(await Promise.all([current(), current(), current()])).toEqual(['before', 'before', 'before']);
    expect(reads).toBe(1);
    value = 'after';
    await nextTurn();
    expect(await current()).toBe('after');
    expect(reads).toBe(2);
  });

  it('a failed read fails every caller of its turn, and the next turn tries again', async () => {
    let fail = true;
    const current = sharedPerTurn(async () => {
      if (fail) throw new Error('database gone');
      return 'back';
    });
    const results = await Promise.allSettled([current(), current()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await nextTurn();
    expect(await current()).toBe('back');
  });
});
