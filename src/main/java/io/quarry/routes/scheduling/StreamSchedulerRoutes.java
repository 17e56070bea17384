package io.quarry.routes.scheduling;

import io.quarry.bus.BusNames;
import io.quarry.config.QuarryProperties;
import io.quarry.flow.FlowEndpoints;
import io.quarry.mining.MiningScheduler;
import io.quarry.monitoring.LogContext;
import io.quarry.monitoring.PipelineMetrics;
import org.apache.camel.Exchange;
import org.apache.camel.Predicate;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * One scheduler per stream: a clustered Quartz tick (cron from {@code quarry.streams.<s>.schedule},
 * a missed tick fires once) releases the users of earlier ticks that died before publishing, then
 * loops over the active users a page at a time (keyset paging in id order with camel-sql, {@link
 * MiningScheduler#GROUPS_PER_PAGE} publish groups a page): claims the page's users and splits the
 * claims into groups of {@code quarry.mining.publish-batch-size} mining messages, each group
 * published with one confirm wait, before it reads the next page. The tick's heap holds one page,
 * whatever the number of users. A failure releases the claimed users whose messages did not go out
 * and marks the run failed with what it published.
 */
@Component
public class StreamSchedulerRoutes extends RouteBuilder {

  /** A fan-out group's confirms may take long while the broker pages a large queue to disk. */
  static final int CONFIRM_TIMEOUT_MILLIS = 30_000;

  /** A page of active users after {@code quarryUsersAfter}, at most {@code quarryUsersPerPage}. */
  static final String ACTIVE_USERS = "sql:classpath:sql/active-users.sql?parametersCount=2";

  /** The last page read was full: another may follow. */
  private static final Predicate MORE_USERS =
      new Predicate() {
        @Override
        public boolean matches(Exchange exchange) {
          return exchange.getProperty(MiningScheduler.TICK, MiningScheduler.Tick.class).morePages();
        }

        /** What the route model (and Hawtio's diagram) shows as the loop's condition. */
        @Override
        public String toString() {
          return "tick.morePages()";
        }
      };

  private final QuarryProperties properties;
  private final BusNames names;

  public StreamSchedulerRoutes(QuarryProperties properties, BusNames names) {
    this.properties = properties;
    this.names = names;
  }

  @Override
  public void configure() {
    properties.streams().keySet().forEach(this::scheduler);
  }

  // @formatter:off
  private void scheduler(String stream) {
    from(ClusteredJobs.trigger(
            "mining/" + stream + "-scheduler", "{{quarry.streams." + stream + ".schedule}}", null))
        .routeId(stream + "-scheduler-tick")
        .to(FlowEndpoints.schedulerWorker(stream));

    from(FlowEndpoints.schedulerWorker(stream))
        .routeId(stream + "-scheduler")
        .setHeader(MiningScheduler.STREAM, constant(stream))
        .bean(MiningScheduler.class, "startRun").id(stream + "-open-run")
        .process(exchange -> LogContext.put(
            exchange, null, stream, exchange.getProperty(MiningScheduler.RUN_ID)))
        .doTry()
            .bean(MiningScheduler.class, "releaseAbandoned").id(stream + "-release-abandoned")
            .loopDoWhile(MORE_USERS).id(stream + "-page-by-page")
                .bean(MiningScheduler.class, "nextPage").id(stream + "-next-page")
                .to(ACTIVE_USERS).id(stream + "-read-active-users")
                .bean(MiningScheduler.class, "claim").id(stream + "-claim-users")
                .split(simple("${collate(" + properties.mining().publishBatchSize() + ")}"))
                        .streaming().stopOnException().id(stream + "-split-groups")
                    .bean(MiningScheduler.class, "messages").id(stream + "-mining-messages")
                    .to("quarry-amqp:queue:" + names.miningQueue(stream)
                            + "?confirmTimeout=" + CONFIRM_TIMEOUT_MILLIS)
                        .id(stream + "-publish-mining-messages")
                    .bean(MiningScheduler.class, "published").id(stream + "-note-progress")
                .end()
            .end()
            .endDoTry()
            .bean(MiningScheduler.class, "finishRun").id(stream + "-close-run")
            .bean(PipelineMetrics.class, "tick(" + stream + ", succeeded)").id(stream + "-count-tick")
        .doCatch(Exception.class)
            .bean(MiningScheduler.class, "releaseUnpublished").id(stream + "-release-unpublished")
            .bean(MiningScheduler.class, "failRun").id(stream + "-fail-run")
            .bean(PipelineMetrics.class, "tick(" + stream + ", failed)").id(stream + "-count-failed-tick")
        .end();
  }
  // @formatter:on
}
