// TicketRepository.ping: the in-memory store is always ready; a store that does not override ping
// (a host's own) is taken as ready.
import { describe, expect, it } from '@jest/globals';
import { InMemoryTicketRepository, TicketRepository, type TicketRecord } from '../../src/index.js';

describe('TicketRepository.ping', () => {
  it('resolves for the in-memory store, even after close', async () => {
    const repo = new InMemoryTicketRepository();
    await expect(repo.ping()).resolves.toBeUndefined();
    repo.close();
    await expect(repo.ping()).resolves.toBeUndefined();
  });

  it('defaults to resolving for a store that does not implement it', async () => {
    class HostStore extends TicketRepository {
      async save(_ticket: TicketRecord): Promise<void> {}
      async consume(): Promise<TicketRecord | null> {
        return null;
      }
    }
    await expect(new HostStore().ping()).resolves.toBeUndefined();
  });
});
