package io.quarry.deadletter;

import io.quarry.flow.FlowEndpoints;
import java.util.List;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.ProducerTemplate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;

/**
 * Replays or discards parked dead letters. A replayed message starts afresh on its queue; a
 * replayed mining message resumes its user's chain at the letter's position (see {@link
 * DeadLetterReplay}).
 */
@Service
public class DeadLetterService {

  private static final Logger log = LoggerFactory.getLogger(DeadLetterService.class);

  /**
   * What a replay did: {@code replayed} false when the letter had been handled already; {@code
   * detail} says what happens next.
   */
  public record Replay(boolean replayed, String detail) {}

  private final DeadLetterRepository parked;
  private final ProducerTemplate routes;

  public DeadLetterService(DeadLetterRepository parked, ProducerTemplate routes) {
    this.parked = parked;
    this.routes = routes;
  }

  public List<DeadLetterRepository.Parked> open(int limit, int offset) {
    return parked.open(limit, offset);
  }

  /**
   * Re-publishes the parked message to its original queue through the dead-letter replay route
   * ({@link FlowEndpoints#DEAD_LETTER_REPLAY}; see {@link DeadLetterReplay}). The letter is marked
   * replayed in the transaction that publishes it: of two replays at once the second waits for the
   * first's row and then finds it handled, so the message goes out once; a publish that fails (not
   * confirmed) rolls the mark back and is thrown.
   *
   * @throws UnknownDeadLetterException when there is no such letter
   * @throws ReplayRefusedException when the letter's chain is in progress, or its user no longer
   *     exists: nothing is done, the letter stays parked
   */
  public Replay replay(long id, String user) {
    try {
      return routes.requestBody(
          FlowEndpoints.DEAD_LETTER_REPLAY, new DeadLetterReplay.Request(id, user), Replay.class);
    } catch (CamelExecutionException e) {
      if (DeadLetterReplay.unwrapped(e) instanceof RuntimeException cause) {
        throw cause;
      }
      throw e;
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
