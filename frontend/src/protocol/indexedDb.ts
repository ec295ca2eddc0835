/**
 * The IndexedDB plumbing the key store and the chain store share: one
 * short-lived connection and one transaction per operation.
 */

function requestResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB request failed"));
  });
}

function transactionDone(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB transaction aborted"));
    transaction.onerror = () => reject(transaction.error ?? new Error("IndexedDB transaction failed"));
  });
}

function openDatabase(name: string, version: number, stores: readonly string[]): Promise<IDBDatabase> {
  if (typeof indexedDB === "undefined") {
    return Promise.reject(new Error("IndexedDB is not available in this browser"));
  }
  const request = indexedDB.open(name, version);
  request.onupgradeneeded = () => {
    const db = request.result;
    for (const store of stores) {
      if (!db.objectStoreNames.contains(store)) {
        db.createObjectStore(store);
      }
    }
  };
  return requestResult(request);
}

/** A database of plain object stores (created on first use). */
export interface StoreDatabase {
  readonly name: string;
  readonly version: number;
  readonly stores: readonly string[];
}

/** Run one request against `store` in its own transaction; resolves once committed. */
export async function withStore<T>(
  database: StoreDatabase,
  store: string,
  mode: IDBTransactionMode,
  body: (objectStore: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  const db = await openDatabase(database.name, database.version, database.stores);
  try {
    const transaction = db.transaction(store, mode);
    const done = transactionDone(transaction);
    const result = requestResult(body(transaction.objectStore(store)));
    await done;
    return await result;
  } finally {
    db.close();
  }
}
