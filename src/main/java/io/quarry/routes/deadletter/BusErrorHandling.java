package io.quarry.routes.deadletter;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.deadletter.DeadLetterHeaders;
import io.quarry.flow.FlowEndpoints;
import io.quarry.message.InvalidMessageException;
import io.quarry.platform.MalformedResponseException;
import io.quarry.platform.UnexpectedStatusException;
import io.quarry.security.TokenCipher;
import org.apache.camel.LoggingLevel;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.builder.RouteConfigurationBuilder;
import org.springframework.stereotype.Component;

/**
 * Error handling of every route that consumes the bus ({@code routeConfigurationId("bus")}): a
 * message that can never succeed (malformed message, malformed API response, an API status that no
 * retry changes, such as 400 or 404, a stored token that no configured key decrypts) is
 * dead-lettered at once; any other failure is redelivered inside the route with exponential
 * backoff, then dead-lettered. Either way the original message goes to the dead-letter route
 * ({@link FlowEndpoints#DEAD_LETTER}), which publishes it to its queue's {@code .dlq} with the
 * reason, and the source message is acknowledged once that is confirmed, so one bad message never
 * blocks the queue behind it. Also the {@value #CONSUME_QUEUE} route template that every consumer
 * of a work queue is made from.
 */
@Component
public class BusErrorHandling extends RouteConfigurationBuilder {

  public static final String ID = "bus";

  /** The route template of a work queue's consumer route (see {@link #consumeQueue}). */
  public static final String CONSUME_QUEUE = "consume-queue";

  /**
   * The consumer route of a work queue, made from the {@value #CONSUME_QUEUE} template: takes the
   * message off {@code queue} (through {@code endpointUri}), remembers the queue for the dead
   * letter channel and hands the message to {@code worker}, the route that does the work under this
   * error handling. The route itself is not under it: a dead letter that was not confirmed fails
   * the consumer route, so the listener rejects the message and the broker dead-letters it.
   *
   * <p>Camel makes templated routes only in {@code addTemplatedRoutes}, after every builder's
   * {@code addRoutes} (Spring Boot and {@code CamelTestSupport} do both): a context built by hand
   * needs both calls.
   */
  public static void consumeQueue(
      RouteBuilder routes, String endpointUri, String queue, String routeId, String worker) {
    routes
        .templatedRoute(CONSUME_QUEUE)
        .routeId(routeId)
        .parameter("endpointUri", endpointUri)
        .parameter("queue", queue)
        .parameter("worker", worker);
  }

  private final MiningProperties mining;

  public BusErrorHandling(QuarryProperties properties) {
    this.mining = properties.mining();
  }

  @Override
  public void configure() {
    routeTemplate(CONSUME_QUEUE)
        .templateParameter("endpointUri")
        .templateParameter("queue")
        .templateParameter("worker")
        .from("{{endpointUri}}")
        .setProperty(DeadLetterHeaders.SOURCE_QUEUE_PROPERTY, constant("{{queue}}"))
        .to("{{worker}}");
  }

  @Override
  public void configuration() {
    routeConfiguration(ID)
        .onException(
            InvalidMessageException.class,
            MalformedResponseException.class,
            UnexpectedStatusException.class,
            TokenCipher.TokenDecryptionException.class,
            JsonProcessingException.class)
        .handled(true)
        .maximumRedeliveries(0)
        .useOriginalMessage()
        .setProperty(DeadLetterHeaders.TRANSIENT_PROPERTY, constant(false))
        .to(FlowEndpoints.DEAD_LETTER)
        .end()
        .onException(Exception.class)
        .handled(true)
        .maximumRedeliveries(mining.redeliveries())
        .redeliveryDelay(mining.redeliveryDelay().toMillis())
        .useExponentialBackOff()
        .backOffMultiplier(2)
        .maximumRedeliveryDelay(60_000)
        .retryAttemptedLogLevel(LoggingLevel.WARN)
        .useOriginalMessage()
        .setProperty(DeadLetterHeaders.TRANSIENT_PROPERTY, constant(true))
        .to(FlowEndpoints.DEAD_LETTER)
        .end();
  }
}
