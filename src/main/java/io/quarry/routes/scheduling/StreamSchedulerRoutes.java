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
 * MiningScheduler#GROUPS_PER_PAGE} publish groups a page). Two things happen at once in each turn
 * of the loop (a parallel multicast that waits for both): the page claimed in the previous turn is
 * split into groups of {@code quarry.mining.publish-batch-size} mining messages, each group
 * published with one confirm wait, while the next page is read and claimed. The claim, a database
 * write, thus hides behind the broker's confirms; the first turn only claims. The tick's heap holds
 * two pages, whatever the number of users. A failure releases the claimed users whose messages did
 * not go out (those of the page under way and the whole page claimed ahead) and marks the run
 * failed with what it published.
 */
@Component
public class StreamSchedulerRoutes extends RouteBuilder {

  /** A fan-out group's confirms may take long while the broker pages a large queue to disk. */
  static final int CONFIRM_TIMEOUT_MILLIS = 30_000;

  /** A page of active users after {@code quarryUsersAfter}, at most {@code quarryUsersPerPage}. */
  static final String ACTIVE_USERS = "sql:classpath:sql/active-users.sql?parametersCount=2";

  /** The last page read was full: another may follow. */
  private static final Predicate MORE_USERS =
      named("tick.morePages()", MiningScheduler.Tick::morePages);

  /** A page was read and claimed ahead: it is the next to publish. */
  private static final Predicate PAGE_CLAIMED =
      named("tick.pageClaimed()", MiningScheduler.Tick::pageClaimed);

  /**
   * A predicate on the tick that the route model (and Hawtio's diagram) shows by its name, not by a
   * lambda's class name.
   */
  private static Predicate named(
      String name, java.util.function.Predicate<MiningScheduler.Tick> test) {
    return new Predicate() {
      @Override
      public boolean matches(Exchange exchange) {
        return test.test(exchange.getProperty(MiningScheduler.TICK, MiningScheduler.Tick.class));
      }

      @Override
      public String toString() {
        return name;
      }
    };
  }

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

  /**
   * Two threads for the two branches of a stream's page loop (the page's publishing and the next
   * page's claim), named after the stream; Camel shuts them down with the context.
   */
  private java.util.concurrent.ExecutorService pageThreads(String stream) {
    return getContext()
        .getExecutorServiceManager()
        .newFixedThreadPool(this, stream + "-fan-out", 2);
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
            .loopDoWhile(PAGE_CLAIMED).id(stream + "-page-by-page")
                .bean(MiningScheduler.class, "takeClaimedPage").id(stream + "-take-claimed-page")
                .multicast().parallelProcessing().executorService(pageThreads(stream))
                        .id(stream + "-publish-page-while-claiming-next")
                    .pipeline().id(stream + "-publish-page")
                        .split(simple("${collate(" + properties.mining().publishBatchSize() + ")}"))
                                .streaming().stopOnException().id(stream + "-split-groups")
                            .bean(MiningScheduler.class, "messages").id(stream + "-mining-messages")
                            .to("quarry-amqp:queue:" + names.miningQueue(stream)
                                    + "?confirmTimeout=" + CONFIRM_TIMEOUT_MILLIS)
                                .id(stream + "-publish-mining-messages")
                            .bean(MiningScheduler.class, "published").id(stream + "-note-progress")
                        .end()
                    .end()
                    .pipeline().id(stream + "-claim-next-page")
                        .filter(MORE_USERS).id(stream + "-if-more-users")
                            .bean(MiningScheduler.class, "nextPage").id(stream + "-next-page")
                            .to(ACTIVE_USERS).id(stream + "-read-active-users")
                            .bean(MiningScheduler.class, "claim").id(stream + "-claim-users")
                        .end()
                    .end()
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
