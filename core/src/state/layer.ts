import type { Position } from './position.ts'
import type { StateStore } from './types.ts'

/**
 * A layer of a store's decorator stack (typed → metered → write buffer → bytes): what every layer
 * passes straight to the one below. Layers override what they change (flush, close, reads, writes).
 */
export abstract class StoreLayer<S extends StateStore> implements StateStore {
  protected readonly inner: S

  constructor(inner: S) {
    this.inner = inner
  }

  get name(): string {
    return this.inner.name
  }

  get persistent(): boolean {
    return this.inner.persistent
  }

  get isOpen(): boolean {
    return this.inner.isOpen
  }

  position(): Position {
    return this.inner.position()
  }

  updatePosition(topic: string, partition: number, offset: number): void {
    this.inner.updatePosition(topic, partition, offset)
  }

  flush(): void {
    this.inner.flush()
  }

  close(): void {
    this.inner.close()
  }
}
