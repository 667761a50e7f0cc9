import { describe, expect, it } from 'vitest';
import {
  AttemptWatchdog,
  type Corkable,
  type StreamHolder,
  type Watched,
  WriteCoalescer,
} from '../../../client/src/core/index.ts';

/** A command as the watchdog sees it: settles once, remembers how. */
class FakeCommand implements Watched {
  isSettled = false;
  error: Error | undefined;
  reject(error: Error): void {
    this.isSettled = true;
    this.error = error;
  }
}

describe('AttemptWatchdog (attempt deadlines without a timer per command)', () => {
  it('rejects an unanswered command once timeoutMs has passed, never before, with ioredis wording', () => {
    const watchdog = new AttemptWatchdog(1000);
    try {
      expect(watchdog.tickMs).toBe(250);
      const slow = new FakeCommand();
      watchdog.watch(slow);
      // Four ticks (1000 ms) may have passed for a command registered at the end of its tick: not yet overdue.
      for (let i = 0; i < 4; i++) watchdog.sweep();
      expect(slow.isSettled).toBe(false);
      watchdog.sweep();
      expect(slow.error?.message).toMatch(/^Command timed out \(no reply within 1000 ms\)$/);
      expect(watchdog.watching).toBe(0);
    } finally {
      watchdog.stop();
    }
  });

  it('leaves answered commands alone and keeps no reference to them', () => {
    const watchdog = new AttemptWatchdog(100);
    try {
      const answered = Array.from({ length: 1000 }, () => new FakeCommand());
      const tickets = answered.map((c) => watchdog.watch(c));
      const pending = new FakeCommand();
      watchdog.watch(pending);
      for (const [i, c] of answered.entries()) watchdog.done(c, tickets[i] as number);
      expect(watchdog.watching).toBe(1);
      for (let i = 0; i < 5; i++) watchdog.sweep();
      expect(answered.every((c) => !c.isSettled)).toBe(true);
      expect(pending.isSettled).toBe(true);
    } finally {
      watchdog.stop();
    }
  });

  it('does not reject a command that settled on its own (a late reply, a closed connection)', () => {
    const watchdog = new AttemptWatchdog(100);
    try {
      const closed = new FakeCommand();
      watchdog.watch(closed);
      closed.reject(new Error('Connection is closed.'));
      for (let i = 0; i < 5; i++) watchdog.sweep();
      expect(closed.error?.message).toBe('Connection is closed.');
    } finally {
      watchdog.stop();
    }
  });

  it('a stale ticket (its bucket swept and refilled) never clears another command', () => {
    const watchdog = new AttemptWatchdog(100);
    try {
      const first = new FakeCommand();
      const ticket = watchdog.watch(first);
      for (let i = 0; i < 5; i++) watchdog.sweep();
      expect(first.isSettled).toBe(true);
      const second = new FakeCommand();
      expect(watchdog.watch(second)).toBe(ticket);
      watchdog.done(first, ticket);
      expect(watchdog.watching).toBe(1);
    } finally {
      watchdog.stop();
    }
  });

  it('runs its timer only while commands are watched, and deadlines fire in real time', async () => {
    const watchdog = new AttemptWatchdog(40);
    try {
      expect(watchdog.running).toBe(false);
      const slow = new FakeCommand();
      const started = performance.now();
      watchdog.watch(slow);
      expect(watchdog.running).toBe(true);
      const deadline = started + 2000;
      while (!slow.isSettled && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const elapsed = performance.now() - started;
      expect(slow.isSettled).toBe(true);
      expect(elapsed).toBeGreaterThanOrEqual(40);
      // Idle again: the timer stops after a full round of empty buckets.
      while (watchdog.running && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(watchdog.running).toBe(false);
      watchdog.stop();
      watchdog.watch(new FakeCommand());
      expect(watchdog.running).toBe(false);
    } finally {
      watchdog.stop();
    }
  });
});

/** A socket that counts corks. */
class FakeSocket implements Corkable {
  writable = true;
  corked = 0;
  cork(): void {
    this.corked++;
  }
  uncork(): void {
    this.corked--;
  }
}

describe('WriteCoalescer (one write per node per tick, nothing scheduled for a lone caller)', () => {
  function setup() {
    const sockets = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
    const queues = sockets.map(() => ({ length: 0 }));
    const holders: StreamHolder[] = sockets.map((stream, i) => ({ stream, commandQueue: queues[i] }));
    return { sockets, queues, coalescer: new WriteCoalescer(() => holders) };
  }

  it('a command with nothing in flight is written at once: no cork, no tick scheduled', async () => {
    const { sockets, coalescer } = setup();
    coalescer.hold();
    expect(coalescer.held).toBe(0);
    expect(sockets.every((s) => s.corked === 0)).toBe(true);
  });

  it('a command while another is in flight corks every writable socket until the end of the tick', async () => {
    const { sockets, queues, coalescer } = setup();
    (sockets[2] as FakeSocket).writable = false;
    (queues[1] as { length: number }).length = 1;
    coalescer.hold();
    coalescer.hold();
    coalescer.hold();
    expect(sockets.map((s) => s.corked)).toEqual([1, 1, 0]);
    expect(coalescer.held).toBe(2);
    await new Promise((r) => process.nextTick(r));
    expect(sockets.map((s) => s.corked)).toEqual([0, 0, 0]);
    expect(coalescer.held).toBe(0);
  });
});
