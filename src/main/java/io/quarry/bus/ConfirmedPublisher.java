package io.quarry.bus;

import io.quarry.bus.amqp.PublishFailedException;
import io.quarry.bus.amqp.Routed;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.springframework.amqp.rabbit.connection.CorrelationData;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.stereotype.Component;

/**
 * Publishes a batch of messages on one channel of the publisher connection and then waits for all
 * their confirms at once: the whole batch is in flight together instead of one round trip per
 * message. A message counts as published only when the broker acked it and did not return it as
 * unroutable.
 */
@Component
public class ConfirmedPublisher {

  private final RabbitTemplate rabbit;

  public ConfirmedPublisher(RabbitTemplate rabbit) {
    this.rabbit = rabbit;
  }

  /**
   * Sends every message, then waits until {@code timeoutMillis} for their confirms.
   *
   * @return per message, in order: null when confirmed, else why not
   * @throws org.springframework.amqp.AmqpException when the broker cannot be reached at all
   */
  public List<String> publish(List<Routed> messages, long timeoutMillis) {
    List<CorrelationData> confirms = new ArrayList<>(messages.size());
    rabbit.invoke(
        channel -> {
          for (Routed outgoing : messages) {
            CorrelationData correlation = new CorrelationData();
            channel.send(
                outgoing.exchange(), outgoing.routingKey(), outgoing.message(), correlation);
            confirms.add(correlation);
          }
          return null;
        });
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    List<String> outcomes = new ArrayList<>(messages.size());
    for (CorrelationData correlation : confirms) {
      outcomes.add(awaitConfirm(correlation, deadline));
    }
    return outcomes;
  }

  /** Publishes all or throws: for callers that treat the batch as one unit. */
  public void publishAll(List<Routed> messages, long timeoutMillis) {
    List<String> outcomes = publish(messages, timeoutMillis);
    for (String outcome : outcomes) {
      if (outcome != null) {
        throw new PublishFailedException(outcome);
      }
    }
  }

  private static String awaitConfirm(CorrelationData correlation, long deadlineNanos) {
    try {
      long wait = Math.max(0, deadlineNanos - System.nanoTime());
      CorrelationData.Confirm confirm = correlation.getFuture().get(wait, TimeUnit.NANOSECONDS);
      if (!confirm.isAck()) {
        return "nacked by the broker: " + confirm.getReason();
      }
      if (correlation.getReturned() != null) {
        return "unroutable: " + correlation.getReturned().getReplyText();
      }
      return null;
    } catch (TimeoutException e) {
      return "no confirm within " + "the confirm timeout";
    } catch (ExecutionException e) {
      return "confirm failed: " + e.getCause().getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted while waiting for the confirm";
    }
  }

  /** The broker did not take a message of a batch that had to go out whole. */
  public static class PublishFailedException extends RuntimeException {
    public PublishFailedException(String reason) {
      super("publish not confirmed: " + reason);
    }
  }
}
