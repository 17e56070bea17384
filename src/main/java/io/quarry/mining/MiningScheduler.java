package io.quarry.mining;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.Routed;
import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * A stream's scheduler tick: opens a run record, releases the users of ticks that died before they
 * published (see {@link #releaseAbandoned}), and once the active users have been read, claims the
 * users whose previous chain is over (the overlap guard, committed before anything is sent, so a
 * miner always finds the chain of the message it receives) and publishes one mining message per
 * user in confirmed batches ({@link BatchPublisher}: one confirm wait per batch, no per-message
 * correlation). A chain the previous run left incomplete resumes at its saved marker. At most once
 * a second, after a confirmed batch, the run records how far it got, which is also its sign of
 * life. If publishing fails, the users whose messages did not go out are released (marked failed
 * with the reason) and the run is recorded as failed.
 */
@Component
public class MiningScheduler {

  public static final String RUN_ID = "quarryRunId";
  public static final String STREAM = "quarryStream";

  private static final Logger log = LoggerFactory.getLogger(MiningScheduler.class);
  private static final long CONFIRM_TIMEOUT_MILLIS = 30_000;
  private static final long PROGRESS_EVERY_NANOS = 1_000_000_000L;

  private final MiningStateRepository states;
  private final BatchPublisher publisher;
  private final MiningMessageCodec codec;
  private final BusNames names;
  private final QuarryProperties properties;
  private final MeterRegistry metrics;
  private final String instance;

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
    this.instance =
        properties.scheduler() == null ? "unknown" : properties.scheduler().effectiveInstanceId();
  }

  /** Opens the run record; the run id goes on as an exchange property. */
  public void startRun(@Header(STREAM) String stream, Exchange exchange) {
    UUID runId = UUID.randomUUID();
    states.startRun(runId, stream, instance);
    exchange.setProperty(RUN_ID, runId);
  }

  /**
   * Closes the stream's ticks that stopped giving signs of life ({@code
   * quarry.mining.abandoned-tick-after}: their instance died between claim and publish) and
   * releases their users whose message never went out, so that this tick schedules them again.
   */
  public void releaseAbandoned(@Header(STREAM) String stream) {
    report(states.releaseAbandoned(stream, properties.mining().abandonedTickAfter()));
  }

  /**
   * At start-up: the ticks an earlier life of this instance left running (it was killed during a
   * tick) can publish no more; their unsent users are released at once rather than after {@code
   * abandoned-tick-after}.
   */
  @EventListener
  public void releaseTicksOfEarlierLife(ApplicationReadyEvent ready) {
    releaseTicksOfEarlierLife(Instant.ofEpochMilli(ready.getApplicationContext().getStartupDate()));
  }

  /** Closes this instance's ticks begun before {@code startedAt} (when this instance started). */
  public void releaseTicksOfEarlierLife(Instant startedAt) {
    try {
      report(states.releaseRunsOfEarlierLife(instance, startedAt));
    } catch (RuntimeException databaseTrouble) {
      log.warn(
          "Could not close the ticks an earlier life of instance {} left running ({}); the next"
              + " tick of each stream closes them after quarry.mining.abandoned-tick-after",
          instance,
          databaseTrouble.toString());
    }
  }

  private void report(List<MiningStateRepository.AbandonedRun> runs) {
    for (MiningStateRepository.AbandonedRun run : runs) {
      metrics.counter("quarry.scheduler.ticks.abandoned").increment();
      log.warn(
          "Closed run {} of instance {} as failed: it stopped during its fan-out; {} users had been"
              + " published, {} are released to the next tick",
          run.runId(),
          run.instance(),
          run.published(),
          run.released());
    }
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
    List<MiningStateRepository.Claim> claimed =
        states.claim(stream, runId, users, mining.staleChainAfter());
    List<Routed> batch = new ArrayList<>(mining.publishBatchSize());
    Progress progress = new Progress(runId);
    int resumed = 0;
    try {
      // A claim of many users takes a while: if the run was closed as abandoned meanwhile, its
      // claims are released below rather than left in progress without a message.
      if (!states.alive(runId)) {
        throw new AbandonedTickException(runId);
      }
      for (MiningStateRepository.Claim claim : claimed) {
        MiningMessage message =
            MiningMessage.first(
                    stream, claim.userId(), runId, limit, mining.consecutiveBatchRepeatsLimit())
                .continueAt(claim.marker(), 0, 0, 0);
        if (claim.resumed()) {
          resumed++;
        }
        batch.add(new Routed("", queue, codec.write(message)));
        if (batch.size() == mining.publishBatchSize()) {
          publish(batch, progress, claim.userId());
        }
      }
      if (!batch.isEmpty()) {
        publish(batch, progress, claimed.get(claimed.size() - 1).userId());
      }
    } catch (RuntimeException e) {
      // Users whose message did not go out must not block the next tick.
      states.releaseUnsent(
          stream,
          runId,
          claimed.subList(progress.sent, claimed.size()).stream()
              .map(MiningStateRepository.Claim::userId)
              .toList(),
          e.getMessage());
      throw e;
    }
    int skipped = users.size() - claimed.size();
    states.finishRun(runId, users.size(), claimed.size(), resumed, skipped);
    metrics.counter("quarry.scheduler.users.scheduled", "stream", stream).increment(claimed.size());
    metrics.counter("quarry.scheduler.users.resumed", "stream", stream).increment(resumed);
    metrics.counter("quarry.scheduler.users.skipped", "stream", stream).increment(skipped);
    log.info(
        "{} run {}: {} active users, {} scheduled ({} resuming an interrupted chain), {} skipped"
            + " (chain still in progress)",
        stream,
        runId,
        users.size(),
        claimed.size(),
        resumed,
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
        "resumed",
        resumed,
        "skipped",
        skipped);
  }

  /** How far a tick's fan-out got: messages confirmed, and when that was last recorded. */
  private static final class Progress {
    final UUID runId;
    int sent;
    long recordedAt = System.nanoTime();

    Progress(UUID runId) {
      this.runId = runId;
    }
  }

  /**
   * Publishes a batch and waits for its confirms; then, at most once a second, records the run's
   * progress (the last user it published, in claim order) as its sign of life. A record per batch
   * cost about 3% of a 100,000-user tick; a coarser one only widens the batch "in flight" that a
   * dead tick's recovery releases, whose messages are then dropped as stale or resume their chain.
   */
  private void publish(List<Routed> batch, Progress progress, long lastUser) {
    publisher.publishAll(batch, CONFIRM_TIMEOUT_MILLIS);
    progress.sent += batch.size();
    batch.clear();
    long now = System.nanoTime();
    if (now - progress.recordedAt >= PROGRESS_EVERY_NANOS) {
      progress.recordedAt = now;
      if (!states.published(progress.runId, progress.sent, lastUser)) {
        throw new AbandonedTickException(progress.runId);
      }
    }
  }

  /**
   * The run was closed as abandoned while it published (it fell silent for longer than {@code
   * abandoned-tick-after}, and another tick released its unsent users): it stops.
   */
  static final class AbandonedTickException extends IllegalStateException {
    AbandonedTickException(UUID runId) {
      super(
          "run "
              + runId
              + " was closed as abandoned while it published (silent longer than"
              + " quarry.mining.abandoned-tick-after); its remaining users go to the next tick");
    }
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
