package io.quarry.bus.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ReturnListener;
import com.rabbitmq.client.ShutdownSignalException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.AmqpResourceNotAvailableException;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.amqp.rabbit.connection.ConnectionFactory;
import org.springframework.amqp.rabbit.connection.RabbitUtils;
import org.springframework.amqp.rabbit.support.DefaultMessagePropertiesConverter;
import org.springframework.amqp.rabbit.support.MessagePropertiesConverter;
import org.springframework.amqp.rabbit.support.RabbitExceptionTranslator;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

/**
 * The one confirmed publisher of the code base, behind the {@code quarry-amqp} endpoints: sends a
 * batch on a plain amqp-client channel of the publisher connection, every message {@code
 * mandatory}, then waits once ({@code waitForConfirmsOrDie}) for the whole batch. All or a {@link
 * PublishFailedException}: a message nacked, returned unroutable or not confirmed in time fails the
 * batch. Against Spring AMQP's correlated confirms it saves a {@code CorrelationData} future per
 * message and the two correlation headers added to every correlated publish, so the broker stores
 * and routes the same bytes a plain client would (see docs/performance.md).
 *
 * <p>The message properties are converted exactly as {@code RabbitTemplate} converts them (content
 * type, encoding, delivery mode, type, priority, headers), so consumers see the same message. Each
 * call uses a channel of its own (a small pool of idle confirm-mode channels, reopened when
 * closed), so schedulers of several streams may publish at the same time.
 */
@Component
public class BatchPublisher implements DisposableBean {

  /** Metric of the two phases of a batch, tagged {@code phase=send|confirm}. */
  public static final String BATCH_TIMER = "quarry.publisher.batch";

  private static final Logger log = LoggerFactory.getLogger(BatchPublisher.class);

  /**
   * Idle channels kept: every miner publishes its data batch and continuation through here, so
   * about as many as miners publish at once (a channel costs the broker little; opening one costs
   * two round trips).
   */
  private static final int MAX_IDLE_CHANNELS = 64;

  private final ConnectionFactory connections;
  private final MessagePropertiesConverter converter = new DefaultMessagePropertiesConverter();
  private final Deque<PublishingChannel> idle = new ConcurrentLinkedDeque<>();
  private final Timer sendTime;
  private final Timer confirmTime;
  private volatile boolean closed;

  public BatchPublisher(CachingConnectionFactory connectionFactory, MeterRegistry metrics) {
    ConnectionFactory publisher = connectionFactory.getPublisherConnectionFactory();
    // The publisher connection: a broker alarm that blocks publishing must not stall consumers.
    this.connections = publisher != null ? publisher : connectionFactory;
    this.sendTime = metrics.timer(BATCH_TIMER, "phase", "send");
    this.confirmTime = metrics.timer(BATCH_TIMER, "phase", "confirm");
  }

  /**
   * Sends every message (mandatory), then waits up to {@code timeoutMillis} for the broker to
   * confirm all of them.
   *
   * @throws PublishFailedException when a message was nacked, returned as unroutable or not
   *     confirmed in time, or the channel or connection closed on the way; some messages of the
   *     batch may have been delivered all the same
   * @throws org.springframework.amqp.AmqpException when no channel can be opened (broker down)
   */
  public void publishAll(List<Routed> messages, long timeoutMillis) {
    if (messages.isEmpty()) {
      return;
    }
    PublishingChannel publishing = borrow();
    boolean reusable = false;
    boolean confirming = false;
    int sent = 0;
    try {
      publishing.startBatch();
      Channel channel = publishing.channel;
      long start = System.nanoTime();
      for (Routed outgoing : messages) {
        Message message = outgoing.message();
        AMQP.BasicProperties properties =
            converter.fromMessageProperties(message.getMessageProperties(), "UTF-8");
        channel.basicPublish(
            outgoing.exchange(), outgoing.routingKey(), true, properties, message.getBody());
        sent++;
      }
      long sentAt = System.nanoTime();
      sendTime.record(sentAt - start, TimeUnit.NANOSECONDS);
      confirming = true;
      try {
        // Closes the channel on a nack or a timeout, and wakes up when the channel or connection
        // closes. A return precedes its message's ack, so every return has been seen after this.
        channel.waitForConfirmsOrDie(timeoutMillis);
      } finally {
        confirmTime.record(System.nanoTime() - sentAt, TimeUnit.NANOSECONDS);
      }
      reusable = true;
      String returned = publishing.returned();
      if (returned != null) {
        throw new PublishFailedException("unroutable: " + returned);
      }
    } catch (TimeoutException e) {
      throw failed("no confirm within " + timeoutMillis + " ms", messages.size(), sent, e);
    } catch (IOException e) {
      String reason =
          confirming
              ? "nacked by the broker"
              : "sending failed: " + e.getClass().getSimpleName() + ": " + e.getMessage();
      throw failed(reason, messages.size(), sent, e);
    } catch (ShutdownSignalException e) { // also AlreadyClosedException
      throw failed("channel closed: " + e.getMessage(), messages.size(), sent, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failed("interrupted while waiting for the confirms", messages.size(), sent, e);
    } finally {
      giveBack(publishing, reusable);
    }
  }

  private static PublishFailedException failed(
      String reason, int batch, int sent, Exception cause) {
    PublishFailedException failure =
        new PublishFailedException(
            reason + " (" + sent + " of " + batch + " messages of the batch sent)");
    failure.initCause(cause);
    return failure;
  }

  private PublishingChannel borrow() {
    if (closed) {
      throw new AmqpResourceNotAvailableException("the batch publisher is shut down");
    }
    for (PublishingChannel channel; (channel = idle.pollFirst()) != null; ) {
      if (channel.isOpen()) {
        return channel;
      }
    }
    return open();
  }

  /** A new confirm-mode channel on the publisher connection (reconnecting if it is closed). */
  private PublishingChannel open() {
    org.springframework.amqp.rabbit.connection.Connection shared = connections.createConnection();
    try {
      if (!shared.isOpen()) {
        // CachingConnectionFactory replaces a lost connection when it is asked for a channel.
        RabbitUtils.closeChannel(shared.createChannel(false));
      }
      com.rabbitmq.client.Connection connection = shared.getDelegate();
      if (connection == null) {
        throw new IllegalStateException("the publisher connection has no AMQP connection");
      }
      Channel channel = connection.createChannel();
      if (channel == null) {
        throw new AmqpResourceNotAvailableException(
            "the broker refused another channel on the publisher connection");
      }
      try {
        channel.confirmSelect();
      } catch (IOException | RuntimeException e) {
        RabbitUtils.closeChannel(channel);
        throw e;
      }
      log.debug("Opened publishing channel {}", channel.getChannelNumber());
      return new PublishingChannel(channel);
    } catch (IOException | ShutdownSignalException e) {
      throw RabbitExceptionTranslator.convertRabbitAccessException(e);
    }
  }

  private void giveBack(PublishingChannel channel, boolean reusable) {
    if (reusable && !closed && channel.isOpen() && idle.size() < MAX_IDLE_CHANNELS) {
      idle.offerFirst(channel);
      if (closed && idle.remove(channel)) {
        channel.close();
      }
      return;
    }
    channel.close();
  }

  @Override
  public void destroy() {
    closed = true;
    for (PublishingChannel channel; (channel = idle.pollFirst()) != null; ) {
      channel.close();
    }
  }

  /** A channel in confirm mode and the messages the broker returned in its current batch. */
  private static final class PublishingChannel implements ReturnListener {
    final Channel channel;
    private final AtomicInteger returns = new AtomicInteger();
    private volatile String firstReturn;

    PublishingChannel(Channel channel) {
      this.channel = channel;
      channel.addReturnListener(this);
    }

    void startBatch() {
      returns.set(0);
      firstReturn = null;
    }

    /** Runs on the connection's reader thread, before the returned message's ack. */
    @Override
    public void handleReturn(
        int replyCode,
        String replyText,
        String exchange,
        String routingKey,
        AMQP.BasicProperties properties,
        byte[] body) {
      if (returns.getAndIncrement() == 0) {
        firstReturn =
            replyCode
                + " "
                + replyText
                + " (exchange '"
                + exchange
                + "', routing key '"
                + routingKey
                + "')";
      }
    }

    /** Null when nothing of the batch came back, else the first return and how many. */
    String returned() {
      int count = returns.get();
      return count == 0 ? null : firstReturn + ", " + count + " message(s) of the batch returned";
    }

    boolean isOpen() {
      return channel.isOpen();
    }

    void close() {
      try {
        if (channel.isOpen()) {
          channel.close();
        }
      } catch (IOException | TimeoutException | ShutdownSignalException e) {
        log.debug("Publishing channel closed with {}", e.toString());
      }
    }
  }
}
