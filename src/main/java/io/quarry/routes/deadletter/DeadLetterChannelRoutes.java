package io.quarry.routes.deadletter;

import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.deadletter.DeadLetterComposer;
import io.quarry.flow.FlowEndpoints;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * The end of the bus dead letter channel ({@link BusErrorHandling}): publishes the failed message,
 * as it came in, to its queue's {@code .dlq} through the dead-letter exchange, confirmed, then
 * records it. Without its own error handler: a dead letter that is not confirmed fails the calling
 * route, so the source message is not acknowledged.
 */
@Component
public class DeadLetterChannelRoutes extends RouteBuilder {

  public static final String ROUTE_ID = "dead-letter";

  private final BusNames names;

  public DeadLetterChannelRoutes(BusNames names) {
    this.names = names;
  }

  @Override
  public void configure() {
    from(FlowEndpoints.DEAD_LETTER)
        .routeId(ROUTE_ID)
        .errorHandler(noErrorHandler())
        .bean(DeadLetterComposer.class, "compose")
        .to(QuarryAmqpComponent.SCHEME + ":exchange:" + names.deadLetterExchange())
        .id("dead-letter-publish")
        .bean(DeadLetterComposer.class, "published");
  }
}
