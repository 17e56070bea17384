package io.quarry.deadletter;

import io.quarry.bus.ConfirmedPublisher;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/** Replays or discards parked dead letters. A replayed message starts afresh on its queue. */
@Service
public class DeadLetterService {

  private static final Logger log = LoggerFactory.getLogger(DeadLetterService.class);

  private final DeadLetterRepository parked;
  private final ConfirmedPublisher publisher;

  public DeadLetterService(DeadLetterRepository parked, ConfirmedPublisher publisher) {
    this.parked = parked;
    this.publisher = publisher;
  }

  public List<DeadLetterRepository.Parked> open(int limit, int offset) {
    return parked.open(limit, offset);
  }

  /**
   * Re-publishes the parked message to its original queue; false if it was already handled. The
   * letter is marked replayed first, in the transaction that publishes it: of two replays at once
   * the second waits for the first's row and then finds it handled, so the message goes out once; a
   * publish that fails (not confirmed) rolls the mark back.
   */
  @Transactional
  public boolean replay(long id, String user) {
    DeadLetterRepository.Parked message =
        parked.find(id).orElseThrow(() -> new UnknownDeadLetterException(id));
    if (!parked.markReplayed(id, user)) {
      return false;
    }
    MessageProperties properties = new MessageProperties();
    properties.setDeliveryMode(MessageDeliveryMode.PERSISTENT);
    properties.setContentType(message.contentType());
    properties.setContentEncoding(message.contentEncoding());
    properties.setHeader("x-quarry-replayed-by", user);
    publisher.publishAll(
        List.of(
            new ConfirmedPublisher.Outgoing(
                "", message.targetRoutingKey(), new Message(message.body(), properties))),
        10_000);
    log.info("Dead letter {} replayed to {} by {}", id, message.targetRoutingKey(), user);
    return true;
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
}
