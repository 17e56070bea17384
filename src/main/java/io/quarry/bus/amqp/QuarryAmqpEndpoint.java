package io.quarry.bus.amqp;

import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.support.DefaultEndpoint;

/**
 * Where a {@code quarry-amqp} producer publishes: an exchange ({@code ""} for the default exchange
 * of {@code queue:<name>}) and a routing key, and how long it waits for the broker's confirms.
 */
public class QuarryAmqpEndpoint extends DefaultEndpoint {

  private final BatchPublisher publisher;
  private final String exchangeName;
  private String routingKey;
  private long confirmTimeout = 10_000;

  QuarryAmqpEndpoint(
      String uri,
      QuarryAmqpComponent component,
      BatchPublisher publisher,
      String exchangeName,
      String routingKey) {
    super(uri, component);
    this.publisher = publisher;
    this.exchangeName = exchangeName;
    this.routingKey = routingKey;
  }

  @Override
  public Producer createProducer() {
    return new QuarryAmqpProducer(this, publisher);
  }

  @Override
  public Consumer createConsumer(Processor processor) {
    throw new UnsupportedOperationException(
        getEndpointUri() + " only publishes; consume with spring-rabbitmq");
  }

  public String getExchangeName() {
    return exchangeName;
  }

  public String getRoutingKey() {
    return routingKey;
  }

  /** The routing key of an {@code exchange:} endpoint; a {@code queue:} endpoint is its queue. */
  public void setRoutingKey(String routingKey) {
    if (exchangeName.isEmpty()) {
      throw new IllegalArgumentException(
          getEndpointUri() + ": a queue: endpoint routes by its queue name, not a routingKey");
    }
    this.routingKey = routingKey;
  }

  public long getConfirmTimeout() {
    return confirmTimeout;
  }

  /** Milliseconds to wait for the confirms of one body (one message or a whole list). */
  public void setConfirmTimeout(long confirmTimeout) {
    if (confirmTimeout <= 0) {
      throw new IllegalArgumentException(getEndpointUri() + ": confirmTimeout must be positive");
    }
    this.confirmTimeout = confirmTimeout;
  }
}
