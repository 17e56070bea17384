package io.quarry.mining;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.BatchPublisher;
import io.quarry.bus.BusNames;
import io.quarry.bus.ConfirmedPublisher;
import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * A stream's scheduler tick: opens a run record, and once the active users have been read, claims
 * the users whose previous chain is over (the overlap guard, committed before anything is sent, so
 * a miner always finds the chain of the message it receives) and publishes one mining message per
 * user in confirmed batches ({@link BatchPublisher}: one confirm wait per batch, no per-message
 * correlation). If publishing fails, the users whose messages did not go out are released (marked
 * failed with the reason) and the run is recorded as failed.
 */
@Component
public class MiningScheduler {

  public static final String RUN_ID = "quarryRunId";
  public static final String STREAM = "quarryStream";

  private static final Logger log = LoggerFactory.getLogger(MiningScheduler.class);
  private static final long CONFIRM_TIMEOUT_MILLIS = 30_000;

  private final MiningStateRepository states;
  private final BatchPublisher publisher;
  private final MiningMessageCodec codec;
  private final BusNames names;
  private final QuarryProperties properties;
  private final MeterRegistry metrics;

  public MiningScheduler(
      MiningStateRepository states,
      BatchPublisher publisher,
      MiningMessageCodec codec,
      BusNames names,
      QuarryProperties properties,
      MeterRegistry metrics) {
    this.states = states;
    this.publisher = publisher;
    this.codec = codec;
    this.names = names;
    this.properties = properties;
    this.metrics = metrics;
  }

  /** Opens the run record; the run id goes on as an exchange property. */
  public void startRun(@Header(STREAM) String stream, Exchange exchange) {
    UUID runId = UUID.randomUUID();
    states.startRun(runId, stream);
    exchange.setProperty(RUN_ID, runId);
  }

  /** Fans the users read by the route out to the mining queue; returns the run's figures. */
  public Map<String, Object> fanOut(
      List<Map<String, Object>> activeUsers,
      @Header(STREAM) String stream,
      @ExchangeProperty(RUN_ID) UUID runId) {
    MiningProperties mining = properties.mining();
    List<Long> users =
        activeUsers.stream().map(row -> ((Number) row.get("id")).longValue()).toList();
    int limit = properties.streams().get(stream).pageSize();
    String queue = names.miningQueue(stream);
    // Claim first and commit, so a miner that receives a message finds its chain in progress.
    List<Long> claimed = states.claim(stream, runId, users, mining.staleChainAfter());
    List<ConfirmedPublisher.Outgoing> batch = new ArrayList<>(mining.publishBatchSize());
    int sent = 0;
    try {
      for (Long user : claimed) {
        MiningMessage message =
            MiningMessage.first(stream, user, runId, limit, mining.consecutiveBatchRepeatsLimit());
        batch.add(new ConfirmedPublisher.Outgoing("", queue, codec.write(message)));
        if (batch.size() == mining.publishBatchSize()) {
          publisher.publishAll(batch, CONFIRM_TIMEOUT_MILLIS);
          sent += batch.size();
          batch.clear();
        }
      }
      if (!batch.isEmpty()) {
        publisher.publishAll(batch, CONFIRM_TIMEOUT_MILLIS);
        sent += batch.size();
      }
    } catch (RuntimeException e) {
      // Users whose message did not go out must not block the next tick.
      states.releaseUnsent(stream, runId, claimed.subList(sent, claimed.size()), e.getMessage());
      throw e;
    }
    int skipped = users.size() - claimed.size();
    states.finishRun(runId, users.size(), claimed.size(), skipped);
    metrics.counter("quarry.scheduler.users.scheduled", "stream", stream).increment(claimed.size());
    metrics.counter("quarry.scheduler.users.skipped", "stream", stream).increment(skipped);
    log.info(
        "{} run {}: {} active users, {} scheduled, {} skipped (chain still in progress)",
        stream,
        runId,
        users.size(),
        claimed.size(),
        skipped);
    return Map.of(
        "runId",
        runId,
        "stream",
        stream,
        "read",
        users.size(),
        "scheduled",
        claimed.size(),
        "skipped",
        skipped);
  }

  /** Records a failed tick (the user list could not be read or the messages not published). */
  public void failRun(
      @Header(STREAM) String stream,
      @ExchangeProperty(RUN_ID) UUID runId,
      @ExchangeProperty(Exchange.EXCEPTION_CAUGHT) Exception error) {
    Throwable root = error;
    while (root != null && root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String reason =
        root == null ? "unknown" : root.getClass().getSimpleName() + ": " + root.getMessage();
    if (runId != null) {
      states.failRun(runId, reason);
    }
    metrics.counter("quarry.scheduler.ticks.failed", "stream", stream).increment();
    log.error(
        "{} run {} failed (users of batches confirmed before the failure are mined): {}",
        stream,
        runId,
        reason);
  }
}
