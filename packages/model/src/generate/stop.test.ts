import { describe, expect, it } from 'vitest';
import { StopMatcher } from './stop.js';

/** Feeds pieces → what was released, and whether a stop completed. */
function run(stops: string[], pieces: string[]): { out: string[]; stopped: boolean } {
  const m = new StopMatcher(stops);
  const out: string[] = [];
  for (const p of pieces) {
    const r = m.push(p);
    out.push(r.text);
    if (r.stopped) return { out, stopped: true };
  }
  out.push(m.flush());
  return { out, stopped: false };
}

describe('StopMatcher', () => {
  it('holds back a possible start of a stop sequence and releases it once it cannot be one', () => {
    expect(run(['END'], ['abc E', 'N', 'x'])).toEqual({ out: ['abc ', '', 'ENx', ''], stopped: false });
  });
  it('stops inside a piece and drops the stop sequence and what follows', () => {
    expect(run(['END'], ['abc E', 'ND tail'])).toEqual({ out: ['abc ', ''], stopped: true });
    expect(run(['\n\n', 'END'], ['a\n', '\nEND'])).toEqual({ out: ['a', ''], stopped: true });
  });
  it('the earliest of several stop sequences wins', () => {
    expect(run(['zz', 'b'], ['azzb'])).toEqual({ out: ['a'], stopped: true });
  });
  it('without stop sequences everything is released at once', () => {
    expect(run([], ['ab', 'c'])).toEqual({ out: ['ab', 'c', ''], stopped: false });
  });
  it('holds the longest suffix that could start any stop sequence', () => {
    expect(run(['abc', 'bcd'], ['xab', 'c'])).toEqual({ out: ['x', ''], stopped: true });
    expect(run(['aab'], ['aaa', 'b'])).toEqual({ out: ['a', ''], stopped: true });
  });
});
