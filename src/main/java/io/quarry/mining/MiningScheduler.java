package io.quarry.mining;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.flow.FlowEndpoints;
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
import org.springframework.amqp.core.Message;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * The steps of a stream's scheduler route: open a run record, release the users of ticks that died
 * before they published ({@link #releaseAbandoned}), then page after page of active users (read by
 * the route in id order after the last id of the previous page, {@link #GROUPS_PER_PAGE} publish
 * groups a page): claim those whose previous chain is over (the overlap guard, committed before
 * anything is sent), turn each group of claims the route splits off into mining messages (a chain
 * the previous run left incomplete resumes at its saved marker), note each confirmed group (at most
 * once a second in the run record, its sign of life); then close the run, or release the users
 * whose messages did not go out and fail it. The route claims the next page while it publishes the
 * page claimed before ({@link #takeClaimedPage}), so a tick holds two pages at a time, whatever the
 * number of users.
 */
@Component
public class MiningScheduler {

  public static final String RUN_ID = "quarryRunId";
  public static final String STREAM = "quarryStream";

  /** Exchange property holding the {@link Tick} of the fan-out under way. */
  public static final String TICK = "quarryTick";

  /** Header: the page read next starts after this user id (keyset paging). */
  public static final String USERS_AFTER = "quarryUsersAfter";

  /** Header: the most users a page holds. */
  public static final String USERS_PER_PAGE = "quarryUsersPerPage";

  /**
   * Publish groups a page of users holds: one claim statement (and commit) per page. A claim per
   * group of 500 cost 12% of the tick (docs/performance.md); 20 groups keep a page of 10,000 users
   * (a few MB) at the default group size.
   */
  public static final int GROUPS_PER_PAGE = 20;

  private static final Logger log = LoggerFactory.getLogger(MiningScheduler.class);
  private static final long PROGRESS_EVERY_NANOS = 1_000_000_000L;

  private final MiningStateRepository states;
  private final MiningMessageCodec codec;
  private final QuarryProperties properties;
  private final MeterRegistry metrics;
  private final String instance;

  public MiningScheduler(
      MiningStateRepository states,
      MiningMessageCodec codec,
      QuarryProperties properties,
      MeterRegistry metrics) {
    this.states = states;
    this.codec = codec;
    this.properties = properties;
    this.metrics = metrics;
    this.instance =
        properties.scheduler() == null ? "unknown" : properties.scheduler().effectiveInstanceId();
  }

  /**
   * Opens the run record, with the admin who asked for a manual tick; the run id and the tick's
   * progress ({@link #TICK}) go on as exchange properties.
   */
  public void startRun(
      @Header(STREAM) String stream,
      @Header(FlowEndpoints.TRIGGERED_BY) String triggeredBy,
      Exchange exchange) {
    UUID runId = UUID.randomUUID();
    states.startRun(runId, stream, instance, triggeredBy);
    exchange.setProperty(RUN_ID, runId);
    exchange.setProperty(
        TICK, new Tick(runId, stream, properties.mining().publishBatchSize() * GROUPS_PER_PAGE));
  }

  /** The parameters of the next page's read: after the last user read, at most a page of them. */
  public void nextPage(@ExchangeProperty(TICK) Tick tick, Exchange exchange) {
    exchange.getMessage().setHeader(USERS_AFTER, tick.lastRead);
    exchange.getMessage().setHeader(USERS_PER_PAGE, tick.pageSize);
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

  /**
   * The page claimed ahead becomes the page under way, and the body the route splits into publish
   * groups (empty in the first turn of the loop, which only claims).
   */
  public List<MiningStateRepository.Claim> takeClaimedPage(@ExchangeProperty(TICK) Tick tick) {
    tick.page = tick.ahead;
    tick.pageSent = 0;
    tick.ahead = null;
    return tick.page;
  }

  /**
   * Claims the users of the page the route read whose previous chain is over, and commits, so that
   * a miner that receives a message finds its chain in progress; the claims, in the order the route
   * publishes them, wait as the page claimed ahead ({@link #takeClaimedPage}). A page shorter than
   * a full one was the last. Runs beside the publishing of the page before: it writes only the
   * tick's read position, its claimed-ahead page and its claim counts.
   */
  public void claim(List<Map<String, Object>> activeUsers, @ExchangeProperty(TICK) Tick tick) {
    List<Long> users = new ArrayList<>(activeUsers.size());
    for (Map<String, Object> row : activeUsers) {
      users.add(((Number) row.get("id")).longValue());
    }
    tick.read += users.size();
    tick.morePages = users.size() >= tick.pageSize;
    if (!users.isEmpty()) {
      tick.lastRead = users.get(users.size() - 1);
    }
    if (users.isEmpty()) {
      return;
    }
    List<MiningStateRepository.Claim> claimed =
        states.claim(tick.stream, tick.runId, users, properties.mining().staleChainAfter());
    tick.ahead = claimed;
    tick.scheduled += claimed.size();
    for (MiningStateRepository.Claim claim : claimed) {
      if (claim.resumed()) {
        tick.resumed++;
      }
    }
    // If the run was closed as abandoned meanwhile (silent too long), its claims are released
    // (releaseUnpublished) rather than left in progress without a message.
    if (!claimed.isEmpty() && !states.alive(tick.runId)) {
      throw new AbandonedTickException(tick.runId);
    }
  }

  /** The mining messages of a group of claimed users (a resumed chain starts at its marker). */
  public List<Message> messages(
      List<MiningStateRepository.Claim> group, @ExchangeProperty(TICK) Tick tick) {
    MiningProperties mining = properties.mining();
    int limit = properties.streams().get(tick.stream).pageSize();
    List<Message> messages = new ArrayList<>(group.size());
    for (MiningStateRepository.Claim claim : group) {
      MiningMessage message =
          MiningMessage.first(
                  tick.stream,
                  claim.userId(),
                  tick.runId,
                  limit,
                  mining.consecutiveBatchRepeatsLimit())
              .continueAt(claim.marker(), 0, 0, 0);
      messages.add(codec.write(message));
    }
    tick.inFlight = group.size();
    return messages;
  }

  /**
   * After a group was confirmed: counts it as sent and, at most once a second, records the run's
   * progress (the last user published, in claim order) as its sign of life. A record per group cost
   * about 3% of a 100,000-user tick; a coarser one only widens the group "in flight" that a dead
   * tick's recovery releases, whose messages are then dropped as stale or resume their chain.
   */
  public void published(@ExchangeProperty(TICK) Tick tick) {
    tick.sent += tick.inFlight;
    tick.pageSent += tick.inFlight;
    tick.inFlight = 0;
    long now = System.nanoTime();
    if (now - tick.recordedAt >= PROGRESS_EVERY_NANOS) {
      tick.recordedAt = now;
      long lastUser = tick.page.get(tick.pageSent - 1).userId();
      if (!states.published(tick.runId, tick.sent, lastUser)) {
        throw new AbandonedTickException(tick.runId);
      }
    }
  }

  /** Closes the run with its figures, which become the body. */
  public Map<String, Object> finishRun(@ExchangeProperty(TICK) Tick tick) {
    String stream = tick.stream;
    int read = tick.read;
    int scheduled = tick.scheduled;
    int resumed = tick.resumed;
    int skipped = read - scheduled;
    states.finishRun(tick.runId, read, scheduled, resumed, skipped);
    metrics.counter("quarry.scheduler.users.scheduled", "stream", stream).increment(scheduled);
    metrics.counter("quarry.scheduler.users.resumed", "stream", stream).increment(resumed);
    metrics.counter("quarry.scheduler.users.skipped", "stream", stream).increment(skipped);
    log.info(
        "{} run {}: {} active users, {} scheduled ({} resuming an interrupted chain), {} skipped"
            + " (chain still in progress)",
        stream,
        tick.runId,
        read,
        scheduled,
        resumed,
        skipped);
    return Map.of(
        "runId",
        tick.runId,
        "stream",
        stream,
        "read",
        read,
        "scheduled",
        scheduled,
        "resumed",
        resumed,
        "skipped",
        skipped);
  }

  /**
   * After a failed fan-out: the claimed users whose message was not confirmed are released (marked
   * failed with the reason), so they do not block the next tick: the rest of the page under way and
   * the whole page claimed ahead of it. The users of earlier pages were all published, those of
   * later pages never claimed. Nothing to do when a read failed after the page under way went out.
   */
  public void releaseUnpublished(
      @ExchangeProperty(TICK) Tick tick,
      @ExchangeProperty(Exchange.EXCEPTION_CAUGHT) Exception error) {
    if (tick == null) {
      return;
    }
    List<Long> unsent = new ArrayList<>();
    for (MiningStateRepository.Claim claim : tick.page.subList(tick.pageSent, tick.page.size())) {
      unsent.add(claim.userId());
    }
    if (tick.ahead != null) {
      for (MiningStateRepository.Claim claim : tick.ahead) {
        unsent.add(claim.userId());
      }
    }
    tick.pageSent = tick.page.size();
    tick.ahead = null;
    if (unsent.isEmpty()) {
      return;
    }
    states.releaseUnsent(
        tick.stream,
        tick.runId,
        unsent,
        error == null ? "fan-out failed" : rootCause(error).getMessage());
    tick.released += unsent.size();
  }

  /** The failure itself, not the wrappers of the split that met it. */
  private static Throwable rootCause(Throwable error) {
    Throwable root = error;
    while (root != null && root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root;
  }

  /**
   * A tick's fan-out as it goes: where its read stands, the page of claims under way and how many
   * of them the broker confirmed, the page claimed ahead, the tick's totals, and when its progress
   * was last recorded in the run.
   *
   * <p>The page's publishing and the next page's claim run on two threads at once: the first writes
   * only {@code pageSent}, {@code sent}, {@code inFlight} and {@code recordedAt}, the second only
   * {@code lastRead}, {@code morePages}, {@code ahead}, {@code read}, {@code scheduled} and {@code
   * resumed}; the route's multicast joins both before the next turn reads them.
   */
  public static final class Tick {
    final UUID runId;
    final String stream;
    final int pageSize;
    long lastRead = Long.MIN_VALUE;
    boolean morePages = true;
    List<MiningStateRepository.Claim> page = List.of();
    int pageSent;

    /** Claimed, not yet under way; empty before the first claim, null when none is waiting. */
    List<MiningStateRepository.Claim> ahead = List.of();

    int read;
    int scheduled;
    int resumed;
    int sent;
    int released;
    int inFlight;
    long recordedAt = System.nanoTime();

    Tick(UUID runId, String stream, int pageSize) {
      this.runId = runId;
      this.stream = stream;
      this.pageSize = pageSize;
    }

    /** Whether the last page read was full, so another may follow. */
    public boolean morePages() {
      return morePages;
    }

    /** A page was claimed and waits to be published. */
    public boolean pageClaimed() {
      return ahead != null;
    }

    /** Users whose message the broker confirmed so far. */
    public int sent() {
      return sent;
    }

    /** Users read so far. */
    public int read() {
      return read;
    }

    /** Users claimed but released after a failure, their message not confirmed. */
    public int released() {
      return released;
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

  /**
   * Records a failed tick (a page of users could not be read, or messages not published) with what
   * it got done: the users read, published (they are mined) and released (claimed, not published:
   * the next tick schedules them); users after the last page read were not reached.
   */
  public void failRun(
      @Header(STREAM) String stream,
      @ExchangeProperty(RUN_ID) UUID runId,
      @ExchangeProperty(TICK) Tick tick,
      @ExchangeProperty(Exchange.EXCEPTION_CAUGHT) Exception error) {
    Throwable root = rootCause(error);
    String reason =
        root == null ? "unknown" : root.getClass().getSimpleName() + ": " + root.getMessage();
    int read = tick == null ? 0 : tick.read;
    int published = tick == null ? 0 : tick.sent;
    int released = tick == null ? 0 : tick.released;
    if (runId != null) {
      states.failRun(
          runId,
          reason,
          new MiningStateRepository.FailedRun(
              read,
              published,
              released,
              tick == null ? 0 : tick.resumed,
              tick == null ? 0 : read - tick.scheduled));
    }
    metrics.counter("quarry.scheduler.ticks.failed", "stream", stream).increment();
    log.error(
        "{} run {} failed after reading {} users: {} published (they are mined), {} released to the"
            + " next tick: {}",
        stream,
        runId,
        read,
        published,
        released,
        reason);
  }
}
