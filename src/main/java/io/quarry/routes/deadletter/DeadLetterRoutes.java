package io.quarry.routes.deadletter;

import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.bus.Topology;
import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.deadletter.DeadLetterRetry;
import io.quarry.maintenance.JobExecutionRepository;
import java.util.stream.Collectors;
import org.apache.camel.LoggingLevel;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * The dead-letter retry route: consumes every {@code .dlq} and sends each dead letter back to its
 * queue after a growing delay (transient failures, a bounded number of times: published, confirmed,
 * to a delay exchange) or parks it in PostgreSQL (permanent or exhausted), where the dashboard and
 * the API can replay it. A parked maintenance event fails its job run (replayed and handled, it
 * closes the run with its effect after all).
 */
@Component
public class DeadLetterRoutes extends RouteBuilder {

  static final String WORKER = "direct:dead-letter-retry";

  private final Topology topology;
  private final BusNames names;
  private final Endpoints endpoints;

  public DeadLetterRoutes(Topology topology, BusNames names, Endpoints endpoints) {
    this.topology = topology;
    this.names = names;
    this.endpoints = endpoints;
  }

  @Override
  public void configure() {
    String queues =
        topology.queues().stream()
            .filter(q -> q.kind() == Topology.Kind.DEAD_LETTER)
            .map(Topology.Queue::name)
            .collect(Collectors.joining(","));
    from(endpoints.consumeKeepingFailures(names.deadLetterExchange(), queues, 1, 20))
        .routeId("dead-letter-retry")
        .to(WORKER);

    // If parking or re-queueing fails (database or broker trouble), retry here, then hand the
    // failure back to the listener, which puts the message back on its queue.
    // @formatter:off
    from(WORKER)
        .routeId("dead-letter-retry-worker")
        .errorHandler(defaultErrorHandler()
            .maximumRedeliveries(5)
            .redeliveryDelay(1000)
            .useExponentialBackOff()
            .retryAttemptedLogLevel(LoggingLevel.WARN))
        .choice()
            .when(method(DeadLetterRetry.class, "goesBack"))
                .bean(DeadLetterRetry.class, "retryMessage")
                .toD(QuarryAmqpComponent.SCHEME + ":exchange:${exchangeProperty."
                        + DeadLetterRetry.DELAY_EXCHANGE_PROPERTY + "}")
                    .id("dead-letter-retry-publish")
                .bean(DeadLetterRetry.class, "retried")
            .otherwise()
                .bean(DeadLetterRetry.class, "park").id("dead-letter-park")
                // A maintenance job's event: its run would stay "running" for ever.
                .filter(exchangeProperty(DeadLetterRetry.PARKED_FROM)
                        .in(names.notificationEventsQueue(),
                            names.highPriorityNotificationEventsQueue()))
                    .bean(JobExecutionRepository.class,
                            "failForParkedEvent(${body}, ${exchangeProperty."
                                + DeadLetterRetry.PARKED_REASON + "}, ${exchangeProperty."
                                + DeadLetterRetry.PARKED_ID + "})")
                        .id("dead-letter-fail-job-run")
                .end()
        .end();
    // @formatter:on
  }
}
