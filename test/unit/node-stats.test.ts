/**
 * A node's stats record and the cluster's rooms read from the nodes' records (ops/node-stats.ts):
 * the record lists at most MAX_PUBLISHED_ROOMS rooms, the largest first, and says how many there
 * are; the cluster's rooms sum the live nodes' members, count every distinct room, and say when
 * the count can only be a lower bound. Pure: no sockets, no Redis.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PUBLISHED_ROOMS, type NodeStats, type NodeView } from '../../src/hub/cluster-view.js';
import { OpsCounters } from '../../src/ops/counters.js';
import { clusterRooms, NodeStatsMeter, type RoomSize } from '../../src/ops/node-stats.js';

function node(nodeId: string, rooms: Array<[string, number]>, extra: Partial<NodeView & NodeStats> = {}): NodeView {
  const stats: NodeStats = {
    sessions: 0,
    connections: 0,
    messagesInPerSecond: 0,
    messagesOutPerSecond: 0,
    cpuRatio: 0,
    rssBytes: 0,
    roomCount: extra.roomCount ?? rooms.length,
    rooms,
  };
  return { nodeId, host: 'h', pid: 1, startedAt: 0, seenAt: 0, isAlive: extra.isAlive ?? true, isSelf: false, stats };
}

describe('the stats record', () => {
  it('lists the largest rooms first, at most MAX_PUBLISHED_ROOMS, and counts them all', () => {
    const many: RoomSize[] = Array.from({ length: MAX_PUBLISHED_ROOMS + 5 }, (_, i) => ({ name: `r${i}`, members: i }));
    const stats = new NodeStatsMeter(new OpsCounters(), () => [...many]).read();
    expect(stats.roomCount).toBe(MAX_PUBLISHED_ROOMS + 5);
    expect(stats.rooms).toHaveLength(MAX_PUBLISHED_ROOMS);
    expect(stats.rooms[0]).toEqual([`r${MAX_PUBLISHED_ROOMS + 4}`, MAX_PUBLISHED_ROOMS + 4]);
    expect(stats.rooms.some(([name]) => name === 'r0')).toBe(false);
  });
});

describe('clusterRooms', () => {
  it('sums members over the live nodes and counts each room once', () => {
    const result = clusterRooms([
      node('a', [
        ['lobby', 2],
        ['a-only', 1],
      ]),
      node('b', [['lobby', 3]]),
      node('dead', [['ghost', 9]], { isAlive: false }),
    ]);
    expect(result).toEqual({
      count: 2,
      isExact: true,
      rooms: [
        { name: 'lobby', members: 5 },
        { name: 'a-only', members: 1 },
      ],
    });
  });

  it('says the count is a lower bound when a node listed only its largest rooms', () => {
    const result = clusterRooms([node('a', [['lobby', 2]], { roomCount: 1_500 }), node('b', [['other', 1]])]);
    expect(result.isExact).toBe(false);
    // At least every room of the largest node, whose own count is exact.
    expect(result.count).toBe(1_500);
  });
});
