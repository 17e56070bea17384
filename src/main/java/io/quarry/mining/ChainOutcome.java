package io.quarry.mining;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.message.DataBatch;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.storage.DataBatchCodec;
import java.time.Duration;
import java.time.Instant;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.core.Message;
import org.springframework.stereotype.Component;

/**
 * The steps of a miner route after its page loop, on the chain in {@link ChainLoader#CHAIN}: the
 * data batch of the pages fetched, the continuation (now, or after a wait in a delay queue), and
 * the chain's end or progress in the database. The route publishes what these steps build, in this
 * order: batch, continuation, progress (a crash in between redelivers the message, whose pages come
 * again under the same page ids).
 */
@Component
public class ChainOutcome {

  /** Header naming the delay exchange a waiting message is published to. */
  public static final String DELAY_EXCHANGE = "quarryDelayExchange";

  private static final Logger log = LoggerFactory.getLogger(ChainOutcome.class);

  private final MiningStateRepository states;
  private final MiningMessageCodec codec;
  private final DataBatchCodec batches;
  private final BusNames names;
  private final MeterRegistry metrics;

  public ChainOutcome(
      MiningStateRepository states,
      MiningMessageCodec codec,
      DataBatchCodec batches,
      BusNames names,
      MeterRegistry metrics) {
    this.states = states;
    this.codec = codec;
    this.batches = batches;
    this.names = names;
    this.metrics = metrics;
  }

  /** The pages with items that this message fetched, as one data batch. */
  public Message dataBatch(@ExchangeProperty(ChainLoader.CHAIN) MiningChain chain) {
    MiningMessage message = chain.message();
    return batches.write(
        DataBatch.of(
            message.stream(),
            message.userId(),
            message.runId(),
            chain.fetchedPages(),
            chain.checkOldData()));
  }

  /** The message that goes on with the chain at once. */
  public Message continuation(@ExchangeProperty(ChainLoader.CHAIN) MiningChain chain) {
    return codec.write(chain.continuation());
  }

  /**
   * The continuation of a chain the platform rate-limited, to wait out its {@code Retry-After} (at
   * most {@link ChainLoader#LONGEST_WAIT}) in a delay queue.
   */
  public Message delayedContinuation(
      @ExchangeProperty(ChainLoader.CHAIN) MiningChain chain, Exchange exchange) {
    Duration wait =
        chain.delay().compareTo(ChainLoader.LONGEST_WAIT) > 0
            ? ChainLoader.LONGEST_WAIT
            : chain.delay();
    return waiting(codec.write(chain.continuation()), Instant.now().plus(wait), exchange);
  }

  /** A message whose time has not come yet, untouched, to wait again. */
  public Message waitingAgain(
      MiningMessage message,
      @ExchangeProperty(ChainLoader.WAITS_UNTIL) Instant notBefore,
      Exchange exchange) {
    return waiting(codec.write(message), notBefore, exchange);
  }

  /**
   * Sets {@link #DELAY_EXCHANGE} to the shortest delay queue that is long enough; a wait longer
   * than the longest queue goes to that queue with {@link ChainLoader#NOT_BEFORE}, and the chain
   * loader sends it round again until that time.
   */
  private Message waiting(Message message, Instant notBefore, Exchange exchange) {
    Duration wait = Duration.between(Instant.now(), notBefore);
    long tier = DelayTiers.atLeast(wait);
    if (Duration.ofSeconds(tier).compareTo(wait) < 0) {
      message.getMessageProperties().setHeader(ChainLoader.NOT_BEFORE, notBefore.toEpochMilli());
    }
    exchange.getMessage().setHeader(DELAY_EXCHANGE, names.delayQueue(tier));
    return message;
  }

  /** Records that the continuation went out: the chain's counters and the markers it fetched. */
  public void progress(@ExchangeProperty(ChainLoader.CHAIN) MiningChain chain) {
    states.progress(chain.continuation(), chain.fetchedMarkers());
  }

  /** Ends the chain with its reason. */
  public void finish(@ExchangeProperty(ChainLoader.CHAIN) MiningChain chain) {
    MiningMessage last = chain.continuation();
    states.finish(last, chain.stopReason(), chain.stopDetail());
    metrics
        .counter(
            "quarry.mining.chains.stopped",
            "stream",
            last.stream(),
            "reason",
            chain.stopReason().code())
        .increment();
    pagesPerChain(last.stream()).record(last.pagesMined());
    log.info(
        "Chain of user {} ({}) ended: {} after {} pages, {} items",
        last.userId(),
        last.stream(),
        chain.stopReason().code(),
        last.pagesMined(),
        last.itemsMined());
  }

  /**
   * How the work spreads over users: a histogram of the pages each finished chain mined, per stream
   * (the per-user view without a label per user).
   */
  private io.micrometer.core.instrument.DistributionSummary pagesPerChain(String stream) {
    return io.micrometer.core.instrument.DistributionSummary.builder("quarry.mining.chain.pages")
        .description("Pages mined by a user's chain in one run")
        .tag("stream", stream)
        .serviceLevelObjectives(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
        .register(metrics);
  }
}
