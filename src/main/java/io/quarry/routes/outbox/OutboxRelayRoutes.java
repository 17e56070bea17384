package io.quarry.routes.outbox;

import io.quarry.config.QuarryProperties;
import io.quarry.flow.FlowEndpoints;
import io.quarry.outbox.OutboxRelay;
import io.quarry.outbox.OutboxRepository;
import org.apache.camel.LoggingLevel;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * The outbox relay: publishes committed integration events to RabbitMQ, woken by the poll ({@code
 * quarry.outbox.poll-interval}) and by PostgreSQL NOTIFY on commit; prunes published rows after
 * {@code quarry.outbox.retention}.
 */
@Component
public class OutboxRelayRoutes extends RouteBuilder {

  private final QuarryProperties properties;

  public OutboxRelayRoutes(QuarryProperties properties) {
    this.properties = properties;
  }

  @Override
  public void configure() {
    from("timer:outbox-poll?period={{quarry.outbox.poll-interval}}&delay=0")
        .routeId("outbox-poll")
        .to(FlowEndpoints.OUTBOX_RELAY);

    from(FlowEndpoints.OUTBOX_WAKEUP).routeId("outbox-wakeup").to(FlowEndpoints.OUTBOX_RELAY);

    from(FlowEndpoints.OUTBOX_RELAY)
        .routeId("outbox-relay")
        .bean(OutboxRelay.class, "relayPending")
        .log(LoggingLevel.DEBUG, "Outbox relay published ${body} events");

    from("timer:outbox-prune?period=60000&delay=60000")
        .routeId("outbox-prune")
        .setBody(constant(properties.outbox().retention()))
        .bean(OutboxRepository.class, "prunePublishedOlderThan")
        .log(LoggingLevel.DEBUG, "Outbox pruned ${body} published events");
  }
}
