package io.quarry.deadletter;

import io.quarry.bus.BusNames;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.MiningStateRepository;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.apache.camel.RuntimeCamelException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.stereotype.Component;

/**
 * The steps of the dead-letter replay route: {@link #prepare} finds the parked letter and makes the
 * message that goes back; in one transaction the route {@link #markReplayed marks} the letter and
 * publishes the message to the letter's queue, so that a publish that is not confirmed rolls the
 * mark back and of two replays at once the second finds the letter handled; {@link #outcome} says
 * what happened.
 *
 * <p>A mining message is not sent back as it was: its run may have been superseded since (a later
 * tick took the chain over), and the miner would drop it. Its user's chain is re-opened first, at
 * the letter's marker under a new run, and a message of that run goes out. Pages stored since the
 * letter failed (a later run resumed the chain past it) count as old data, so such a chain ends at
 * once with {@code no_new_data} instead of mining them twice. If that message does not go out, the
 * re-opened chain is marked failed again ({@link #notPublished}).
 */
@Component
public class DeadLetterReplay {

  /** Exchange property: the queue the replayed message goes to; unset when nothing goes out. */
  public static final String QUEUE_PROPERTY = "quarryReplayQueue";

  /**
   * Exchange property: whether this replay marked the letter replayed (so its message goes out).
   */
  public static final String MARKED_PROPERTY = "quarryReplayMarked";

  private static final String PLAN_PROPERTY = "quarryReplayPlan";
  private static final String REPLAYED_BY = "x-quarry-replayed-by";
  private static final Logger log = LoggerFactory.getLogger(DeadLetterReplay.class);

  /** The body of a replay: which letter, on whose behalf. */
  public record Request(long id, String user) {}

  /** What {@link #prepare} found: the letter, and for a mining letter its message and new run. */
  private record Plan(
      DeadLetterRepository.Parked letter, String user, MiningMessage mining, UUID run) {}

  private final DeadLetterRepository parked;
  private final BusNames names;
  private final MiningMessageCodec miningCodec;
  private final MiningStateRepository chains;

  public DeadLetterReplay(
      DeadLetterRepository parked,
      BusNames names,
      MiningMessageCodec miningCodec,
      MiningStateRepository chains) {
    this.parked = parked;
    this.names = names;
    this.miningCodec = miningCodec;
    this.chains = chains;
  }

  /**
   * The message that goes back to the letter's queue (set in {@link #QUEUE_PROPERTY}), or null when
   * a mining letter was handled already. A mining letter's chain is re-opened first, committed, so
   * that the miner finds the chain of the run it receives.
   *
   * @throws DeadLetterService.UnknownDeadLetterException when there is no such letter
   * @throws DeadLetterService.ReplayRefusedException when the letter's chain is in progress, or its
   *     user no longer exists: nothing is done, the letter stays parked
   */
  public Message prepare(Request request, Exchange exchange) {
    DeadLetterRepository.Parked letter =
        parked
            .find(request.id())
            .orElseThrow(() -> new DeadLetterService.UnknownDeadLetterException(request.id()));
    MiningMessage mining = miningMessage(letter);
    if (mining == null) {
      return send(exchange, new Plan(letter, request.user(), null, null), sentBack(letter));
    }
    if (letter.replayedAt() != null || letter.discardedAt() != null) {
      return null;
    }
    UUID run = UUID.randomUUID();
    boolean reopened;
    try {
      reopened = chains.reopenAt(mining, run);
    } catch (DataIntegrityViolationException noSuchUser) {
      throw new DeadLetterService.ReplayRefusedException(
          "user "
              + mining.userId()
              + " no longer exists: there is nothing to mine; discard the letter");
    }
    if (!reopened) {
      throw new DeadLetterService.ReplayRefusedException(
          "the "
              + mining.stream()
              + " chain of user "
              + mining.userId()
              + " is being mined by another run, which goes on from its own saved marker; nothing"
              + " was replayed: replay this letter once that run has ended, or discard it");
    }
    MiningMessage resumed =
        new MiningMessage(
            MiningMessage.VERSION,
            mining.stream(),
            mining.userId(),
            run,
            mining.limit(),
            mining.currentMarker(),
            0,
            mining.consecutiveBatchRepeatsLimit(),
            0,
            0);
    Message message = miningCodec.write(resumed);
    message.getMessageProperties().setHeader(REPLAYED_BY, request.user());
    return send(exchange, new Plan(letter, request.user(), mining, run), message);
  }

  private static Message send(Exchange exchange, Plan plan, Message message) {
    exchange.setProperty(PLAN_PROPERTY, plan);
    exchange.setProperty(QUEUE_PROPERTY, plan.letter().targetRoutingKey());
    return message;
  }

  private static Message sentBack(DeadLetterRepository.Parked letter) {
    MessageProperties properties = new MessageProperties();
    properties.setDeliveryMode(MessageDeliveryMode.PERSISTENT);
    properties.setContentType(letter.contentType());
    properties.setContentEncoding(letter.contentEncoding());
    return new Message(letter.body(), properties);
  }

  /** Marks the letter replayed, in the transaction that publishes it: false when it was handled. */
  public boolean markReplayed(Exchange exchange) {
    Plan plan = exchange.getProperty(PLAN_PROPERTY, Plan.class);
    return parked.markReplayed(plan.letter().id(), plan.user());
  }

  /** The replayed message did not go out: a re-opened chain fails again; the failure goes on. */
  public void notPublished(Exchange exchange) throws Exception {
    Exception failure = unwrapped(exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class));
    Plan plan = exchange.getProperty(PLAN_PROPERTY, Plan.class);
    if (plan.mining() != null) {
      chains.fail(
          plan.mining().userId(),
          plan.mining().stream(),
          plan.run(),
          "replay of dead letter " + plan.letter().id() + " not published: " + failure.getMessage(),
          false);
    }
    throw failure;
  }

  /** The failure itself, out of the wrappers Camel puts around it (a transaction, a template). */
  static Exception unwrapped(Exception failure) {
    Throwable cause = failure;
    while (cause instanceof RuntimeCamelException && cause.getCause() instanceof Exception inner) {
      cause = inner;
    }
    return (Exception) cause;
  }

  /** What the replay did, for the caller. */
  public DeadLetterService.Replay outcome(Exchange exchange) {
    Plan plan = exchange.getProperty(PLAN_PROPERTY, Plan.class);
    if (plan == null) {
      return new DeadLetterService.Replay(false, null); // a mining letter handled already
    }
    long id = plan.letter().id();
    boolean sent = Boolean.TRUE.equals(exchange.getProperty(MARKED_PROPERTY, Boolean.class));
    MiningMessage mining = plan.mining();
    if (mining == null) {
      if (sent) {
        log.info(
            "Dead letter {} replayed to {} by {}",
            id,
            plan.letter().targetRoutingKey(),
            plan.user());
      }
      return new DeadLetterService.Replay(
          sent, sent ? "sent back to " + plan.letter().targetRoutingKey() : null);
    }
    if (!sent) {
      chains.fail(
          mining.userId(),
          mining.stream(),
          plan.run(),
          "dead letter " + id + " was handled by someone else meanwhile",
          false);
      return new DeadLetterService.Replay(false, null);
    }
    String position =
        mining.currentMarker() == null ? "its first page" : "marker " + mining.currentMarker();
    log.info(
        "Dead letter {} replayed by {}: the {} chain of user {} resumes at {} as run {} (the"
            + " letter's run was {})",
        id,
        plan.user(),
        mining.stream(),
        mining.userId(),
        position,
        plan.run(),
        mining.runId());
    return new DeadLetterService.Replay(
        true,
        "the "
            + mining.stream()
            + " chain of user "
            + mining.userId()
            + " resumes at "
            + position
            + " as run "
            + plan.run()
            + "; pages stored since the letter failed end it at once (no_new_data)");
  }

  /** The letter's mining message, or null for a letter of another queue or an unreadable one. */
  private MiningMessage miningMessage(DeadLetterRepository.Parked letter) {
    if (!names.baseOf(letter.targetRoutingKey()).endsWith("-mining-queue")) {
      return null;
    }
    try {
      return miningCodec.read(letter.body(), letter.contentEncoding());
    } catch (RuntimeException unreadable) {
      return null; // sent back as it is, and dead-lettered again with its reason
    }
  }
}
