// One LISTEN provisioning connection shared by every /events subscriber; each notification
// goes to the subscribers of its tenant. The connection is made on first use and made
// again by the next subscriber after it failed.
import pg from 'pg';

export class EventRelay {
  constructor(pgOptions) {
    this.pgOptions = pgOptions;
    this.subscribers = new Map();   // tenant id -> Set of callbacks
    this.listener = null;
  }

  async subscribe(tenantId, callback) {
    await this.listen();
    const set = this.subscribers.get(tenantId) ?? new Set();
    set.add(callback);
    this.subscribers.set(tenantId, set);
    return () => set.delete(callback);
  }

  listen() {
    this.listener ??= (async () => {
      const client = new pg.Client(this.pgOptions);
      client.on('notification', (n) => {
        let tenantId;
        try { tenantId = JSON.parse(n.payload).tenant_id; } catch { return; }
        for (const cb of this.subscribers.get(tenantId) ?? []) cb(n.payload);
      });
      client.on('error', () => { this.listener = null; client.end().catch(() => {}); });
      await client.connect();
      await client.query('LISTEN provisioning');
      return client;
    })().catch((err) => { this.listener = null; throw err; });
    return this.listener;
  }

  async close() {
    const listener = this.listener;
    this.listener = null;
    if (listener) await (await listener.catch(() => null))?.end();
  }
}
