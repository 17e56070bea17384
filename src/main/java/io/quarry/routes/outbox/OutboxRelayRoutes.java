package io.quarry.routes.outbox;

import io.quarry.config.QuarryProperties;
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

  public static final String RELAY = "direct:outbox-relay";
  public static final String WAKEUP = "seda:outbox-wakeup?size=1&discardWhenFull=true";

  private final QuarryProperties properties;

  public OutboxRelayRoutes(QuarryProperties properties) {
    this.properties = properties;
  }

  @Override
  public void configure() {
    from("timer:outbox-poll?period={{quarry.outbox.poll-interval}}&delay=0")
        .routeId("outbox-poll")
        .to(RELAY);

    from(WAKEUP).routeId("outbox-wakeup").to(RELAY);

    from(RELAY)
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
