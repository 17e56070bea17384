package io.quarry.message;

import java.util.UUID;

/**
 * One user's next page(s) of one stream (docs/architecture.md). The token is never in it: the miner
 * reads it from the database.
 */
public record MiningMessage(
    int version,
    String stream,
    long userId,
    UUID runId,
    int limit,
    String currentMarker,
    int consecutiveBatchRepeats,
    int consecutiveBatchRepeatsLimit,
    long pagesMined,
    long itemsMined) {

  public static final int VERSION = 1;

  /** The first message of a user's chain in a run. */
  public static MiningMessage first(
      String stream, long userId, UUID runId, int limit, int repeatsLimit) {
    return new MiningMessage(VERSION, stream, userId, runId, limit, null, 0, repeatsLimit, 0, 0);
  }

  /** The continuation after this message's pages. */
  public MiningMessage continueAt(String marker, int repeats, long pages, long items) {
    return new MiningMessage(
        version,
        stream,
        userId,
        runId,
        limit,
        marker,
        repeats,
        consecutiveBatchRepeatsLimit,
        pages,
        items);
  }
}
