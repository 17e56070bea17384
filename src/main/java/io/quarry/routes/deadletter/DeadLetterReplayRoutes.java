package io.quarry.routes.deadletter;

import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.deadletter.DeadLetterReplay;
import io.quarry.flow.FlowEndpoints;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * The replay of a parked dead letter (the API and the dashboard, through {@link
 * FlowEndpoints#DEAD_LETTER_REPLAY}): the letter's message goes back to its queue, and the letter
 * is marked replayed in the same database transaction as the confirmed publish. Failures go back to
 * the caller (no error handler): an unknown or refused letter, a publish that was not confirmed.
 */
@Component
public class DeadLetterReplayRoutes extends RouteBuilder {

  static final String SEND = "direct:dead-letter-replay-send";

  // @formatter:off
  @Override
  public void configure() {
    from(FlowEndpoints.DEAD_LETTER_REPLAY)
        .routeId("dead-letter-replay")
        .errorHandler(noErrorHandler())
        .bean(DeadLetterReplay.class, "prepare")
        .filter(exchangeProperty(DeadLetterReplay.QUEUE_PROPERTY).isNotNull())
            .doTry()
                .to(SEND)
            .doCatch(Exception.class)
                .bean(DeadLetterReplay.class, "notPublished")
            .end()
        .end()
        .bean(DeadLetterReplay.class, "outcome");

    from(SEND)
        .routeId("dead-letter-replay-send")
        .transacted()
        .setProperty(DeadLetterReplay.MARKED_PROPERTY,
            method(DeadLetterReplay.class, "markReplayed"))
        .filter(exchangeProperty(DeadLetterReplay.MARKED_PROPERTY))
            .toD(QuarryAmqpComponent.SCHEME + ":queue:${exchangeProperty."
                    + DeadLetterReplay.QUEUE_PROPERTY + "}")
                .id("dead-letter-replay-publish")
        .end();
  }
  // @formatter:on
}
