package io.quarry.deadletter;

import io.quarry.bus.BusNames;
import io.quarry.bus.ConfirmedPublisher;
import io.quarry.bus.amqp.Routed;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.MiningStateRepository;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Replays or discards parked dead letters. A replayed message starts afresh on its queue; a
 * replayed mining message resumes its user's chain at the letter's position (see {@link #replay}).
 */
@Service
public class DeadLetterService {

  private static final Logger log = LoggerFactory.getLogger(DeadLetterService.class);
  private static final String REPLAYED_BY = "x-quarry-replayed-by";

  /**
   * What a replay did: {@code replayed} false when the letter had been handled already; {@code
   * detail} says what happens next.
   */
  public record Replay(boolean replayed, String detail) {}

  private final DeadLetterRepository parked;
  private final ConfirmedPublisher publisher;
  private final TransactionTemplate transaction;
  private final BusNames names;
  private final MiningMessageCodec miningCodec;
  private final MiningStateRepository chains;

  public DeadLetterService(
      DeadLetterRepository parked,
      ConfirmedPublisher publisher,
      PlatformTransactionManager transactions,
      BusNames names,
      MiningMessageCodec miningCodec,
      MiningStateRepository chains) {
    this.parked = parked;
    this.publisher = publisher;
    this.transaction = new TransactionTemplate(transactions);
    this.names = names;
    this.miningCodec = miningCodec;
    this.chains = chains;
  }

  public List<DeadLetterRepository.Parked> open(int limit, int offset) {
    return parked.open(limit, offset);
  }

  /**
   * Re-publishes the parked message to its original queue. The letter is marked replayed in the
   * transaction that publishes it: of two replays at once the second waits for the first's row and
   * then finds it handled, so the message goes out once; a publish that fails (not confirmed) rolls
   * the mark back.
   *
   * <p>A mining message is not sent back as it was: its run may have been superseded since (a later
   * tick took the chain over), and the miner would drop it. Its user's chain is re-opened first, at
   * the letter's marker under a new run, and a message of that run goes out. Pages stored since the
   * letter failed (a later run resumed the chain past it) count as old data, so such a chain ends
   * at once with {@code no_new_data} instead of mining them twice.
   *
   * @throws ReplayRefusedException when the letter's chain is in progress, or its user no longer
   *     exists: nothing is done, the letter stays parked
   */
  public Replay replay(long id, String user) {
    DeadLetterRepository.Parked letter =
        parked.find(id).orElseThrow(() -> new UnknownDeadLetterException(id));
    MiningMessage mining = miningMessage(letter);
    if (mining == null) {
      boolean sent = markAndPublish(letter, user, new Message(letter.body(), properties(letter)));
      if (sent) {
        log.info("Dead letter {} replayed to {} by {}", id, letter.targetRoutingKey(), user);
      }
      return new Replay(sent, sent ? "sent back to " + letter.targetRoutingKey() : null);
    }
    if (letter.replayedAt() != null || letter.discardedAt() != null) {
      return new Replay(false, null);
    }
    UUID run = UUID.randomUUID();
    // Committed before the message goes out, so the miner finds the chain of the run it receives.
    boolean reopened;
    try {
      reopened = chains.reopenAt(mining, run);
    } catch (DataIntegrityViolationException noSuchUser) {
      throw new ReplayRefusedException(
          "user "
              + mining.userId()
              + " no longer exists: there is nothing to mine; discard the letter");
    }
    if (!reopened) {
      throw new ReplayRefusedException(
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
    message.getMessageProperties().setHeader(REPLAYED_BY, user);
    boolean sent;
    try {
      sent = markAndPublish(letter, user, message);
    } catch (RuntimeException notPublished) {
      chains.fail(
          mining.userId(),
          mining.stream(),
          run,
          "replay of dead letter " + id + " not published: " + notPublished.getMessage(),
          false);
      throw notPublished;
    }
    if (!sent) {
      chains.fail(
          mining.userId(),
          mining.stream(),
          run,
          "dead letter " + id + " was handled by someone else meanwhile",
          false);
      return new Replay(false, null);
    }
    String position =
        mining.currentMarker() == null ? "its first page" : "marker " + mining.currentMarker();
    log.info(
        "Dead letter {} replayed by {}: the {} chain of user {} resumes at {} as run {} (the"
            + " letter's run was {})",
        id,
        user,
        mining.stream(),
        mining.userId(),
        position,
        run,
        mining.runId());
    return new Replay(
        true,
        "the "
            + mining.stream()
            + " chain of user "
            + mining.userId()
            + " resumes at "
            + position
            + " as run "
            + run
            + "; pages stored since the letter failed end it at once (no_new_data)");
  }

  private boolean markAndPublish(DeadLetterRepository.Parked letter, String user, Message message) {
    return Boolean.TRUE.equals(
        transaction.execute(
            status -> {
              if (!parked.markReplayed(letter.id(), user)) {
                return false;
              }
              publisher.publishAll(
                  List.of(new Routed("", letter.targetRoutingKey(), message)), 10_000);
              return true;
            }));
  }

  private static MessageProperties properties(DeadLetterRepository.Parked letter) {
    MessageProperties properties = new MessageProperties();
    properties.setDeliveryMode(MessageDeliveryMode.PERSISTENT);
    properties.setContentType(letter.contentType());
    properties.setContentEncoding(letter.contentEncoding());
    return properties;
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

  public boolean discard(long id, String user) {
    parked.find(id).orElseThrow(() -> new UnknownDeadLetterException(id));
    boolean marked = parked.markDiscarded(id, user);
    log.info("Dead letter {} discarded by {}", id, user);
    return marked;
  }

  /** No parked message with that id. */
  public static class UnknownDeadLetterException extends RuntimeException {
    public UnknownDeadLetterException(long id) {
      super("no dead letter " + id);
    }
  }

  /** The letter cannot be replayed now (its chain is being mined, or its user is gone). */
  public static class ReplayRefusedException extends RuntimeException {
    public ReplayRefusedException(String reason) {
      super(reason);
    }
  }
}
