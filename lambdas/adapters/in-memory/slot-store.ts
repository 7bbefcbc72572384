import type { Compose } from '../targets/layers.js';
import {
  slotItem,
  storedFromItem,
  type SlotKey,
  type SlotStore,
  type SlotWrite,
  type StoredSlot,
} from '../targets/slot-store.js';

/** Same semantics in memory: for unit tests and runs without a table. */
export class InMemorySlotStore implements SlotStore {
  readonly items = new Map<string, Record<string, unknown>>();

  async get(key: SlotKey): Promise<StoredSlot | undefined> {
    const item = this.items.get(id(key));
    return item ? storedFromItem(structuredClone(item)) : undefined;
  }

  async put(
    key: SlotKey,
    write: SlotWrite,
    expectedVersion: number | undefined,
    compose?: Compose,
  ): Promise<number | undefined> {
    const current = this.items.get(id(key));
    if (
      expectedVersion === undefined
        ? current !== undefined
        : current === undefined || Number(current.version ?? 0) !== expectedVersion
    )
      return undefined;
    const version = (expectedVersion ?? 0) + 1;
    this.items.set(
      id(key),
      structuredClone(JSON.parse(JSON.stringify(slotItem(key, write, version, compose))) as Record<string, unknown>),
    );
    return version;
  }
}

function id(key: SlotKey): string {
  return `${key.pk}\u0000${key.sk}`;
}
