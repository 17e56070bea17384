package io.quarry.bus.amqp;

import java.util.ArrayList;
import java.util.List;
import org.apache.camel.Exchange;
import org.apache.camel.InvalidPayloadException;
import org.apache.camel.support.DefaultProducer;
import org.springframework.amqp.core.Message;

/**
 * Publishes the body: a Spring AMQP {@link Message}, a {@link Routed} message, or a {@code List} of
 * them, which goes out as one batch with one confirm wait. A {@code Message} goes to the endpoint's
 * exchange under its routing key (or the {@link QuarryAmqpComponent#ROUTING_KEY} header); a {@code
 * Routed} one where it names. The body is the whole AMQP message: Camel headers are not copied into
 * it. Throws {@link PublishFailedException} unless the broker confirmed every message.
 */
class QuarryAmqpProducer extends DefaultProducer {

  private final BatchPublisher publisher;
  private final QuarryAmqpEndpoint endpoint;

  QuarryAmqpProducer(QuarryAmqpEndpoint endpoint, BatchPublisher publisher) {
    super(endpoint);
    this.endpoint = endpoint;
    this.publisher = publisher;
  }

  @Override
  public void process(Exchange exchange) throws Exception {
    Object body = exchange.getMessage().getBody();
    String routingKey =
        exchange
            .getMessage()
            .getHeader(QuarryAmqpComponent.ROUTING_KEY, endpoint.getRoutingKey(), String.class);
    List<Routed> batch;
    if (body instanceof List<?> list) {
      batch = new ArrayList<>(list.size());
      for (Object element : list) {
        batch.add(routed(element, routingKey, exchange));
      }
    } else {
      batch = List.of(routed(body, routingKey, exchange));
    }
    publisher.publishAll(batch, endpoint.getConfirmTimeout());
  }

  private Routed routed(Object element, String routingKey, Exchange exchange)
      throws InvalidPayloadException {
    if (element instanceof Routed routed) {
      return routed;
    }
    if (element instanceof Message message) {
      return new Routed(endpoint.getExchangeName(), routingKey, message);
    }
    throw new InvalidPayloadException(exchange, Message.class);
  }
}
