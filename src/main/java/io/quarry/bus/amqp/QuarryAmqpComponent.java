package io.quarry.bus.amqp;

import java.util.Map;
import org.apache.camel.Endpoint;
import org.apache.camel.support.DefaultComponent;
import org.springframework.stereotype.Component;

/**
 * {@code quarry-amqp:queue:<name>} and {@code quarry-amqp:exchange:<name>[?routingKey=<key>]}: a
 * producer-only endpoint that publishes with batched publisher confirms ({@link BatchPublisher}).
 * camel-spring-rabbitmq's producer waits for each confirm before the next send; this endpoint sends
 * a whole {@code List} body and waits once, which the fan-out benchmark measures (see
 * docs/performance.md). In route tests it is replaced like any endpoint ({@code
 * mockEndpointsAndSkip("quarry-amqp:*")}).
 */
@Component(QuarryAmqpComponent.SCHEME)
public class QuarryAmqpComponent extends DefaultComponent {

  public static final String SCHEME = "quarry-amqp";

  /** Overrides the endpoint's routing key for one exchange (e.g. the mining queue of a delay). */
  public static final String ROUTING_KEY = "CamelQuarryAmqpRoutingKey";

  private final BatchPublisher publisher;

  public QuarryAmqpComponent(BatchPublisher publisher) {
    this.publisher = publisher;
  }

  @Override
  protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters)
      throws Exception {
    int colon = remaining.indexOf(':');
    String kind = colon < 0 ? "" : remaining.substring(0, colon);
    String name = colon < 0 ? "" : remaining.substring(colon + 1);
    QuarryAmqpEndpoint endpoint;
    switch (kind) {
      case "queue" -> {
        if (name.isEmpty()) {
          throw new IllegalArgumentException(uri + ": the queue has no name");
        }
        endpoint = new QuarryAmqpEndpoint(uri, this, publisher, "", name);
      }
      case "exchange" -> endpoint = new QuarryAmqpEndpoint(uri, this, publisher, name, "");
      default ->
          throw new IllegalArgumentException(
              uri
                  + ": expected quarry-amqp:queue:<name> or"
                  + " quarry-amqp:exchange:<name>[?routingKey=<key>]");
    }
    setProperties(endpoint, parameters);
    return endpoint;
  }
}
