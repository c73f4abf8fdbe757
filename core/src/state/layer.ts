import type { Position } from './position.ts'
import type { StateStore } from './types.ts'

/** A store with a bounded write buffer. */
export interface WriteBuffered {
  readonly maxBufferedBytes: number
  bufferedBytes(): number
}

export function isWriteBuffered(store: object): store is WriteBuffered {
  return typeof (store as Partial<WriteBuffered>).bufferedBytes === 'function'
}

/**
 * How full the write buffer in `store`'s stack is (bytes held and its bound), or undefined if the
 * stack has none. Cheap: no metrics are computed, so a task may ask it while processing.
 */
export function writeBufferFill(
  store: object,
): { readonly bytes: number; readonly maxBytes: number } | undefined {
  for (let layer: object = store; ;) {
    if (isWriteBuffered(layer)) return { bytes: layer.bufferedBytes(), maxBytes: layer.maxBufferedBytes }
    if (!(layer instanceof StoreLayer)) return undefined
    // `inner` is protected: walking the stack from outside is this module's own business.
    layer = (layer as unknown as { readonly inner: object }).inner
  }
}

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
