import { appendFileSync } from 'node:fs';
import type { DeadLetter, DeadLetterSink, Reasoned } from '../lambdas/core/ports/dead-letter-sink.js';

/**
 * The local stand-in for an SQS queue: messages kept in order in memory and, when a file is
 * given, appended to it as JSON lines so they survive the run.
 */
export class LocalQueue<T = unknown> {
  private readonly messages: T[] = [];

  constructor(
    readonly name: string,
    private readonly file?: string,
  ) {}

  send(message: T): void {
    this.messages.push(message);
    if (this.file) appendFileSync(this.file, `${JSON.stringify(message)}\n`);
  }

  get length(): number {
    return this.messages.length;
  }

  peekAll(): readonly T[] {
    return this.messages;
  }
}

export class LocalDeadLetterSink<T extends Reasoned = DeadLetter> implements DeadLetterSink<T> {
  constructor(readonly queue: LocalQueue<T>) {}

  async send(letters: readonly T[]): Promise<void> {
    for (const l of letters) this.queue.send(l);
  }
}
