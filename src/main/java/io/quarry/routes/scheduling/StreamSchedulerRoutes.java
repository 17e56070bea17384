package io.quarry.routes.scheduling;

import io.quarry.config.QuarryProperties;
import io.quarry.config.StreamProperties;
import io.quarry.flow.FlowEndpoints;
import io.quarry.mining.MiningScheduler;
import io.quarry.monitoring.LogContext;
import io.quarry.monitoring.PipelineMetrics;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * One scheduler per stream: a clustered Quartz tick (cron from {@code quarry.streams.<s>.schedule},
 * a missed tick fires once) releases the users of earlier ticks that died before publishing, reads
 * the active users with camel-sql and, only if that read succeeds, fans them out as one mining
 * message per user (resuming interrupted chains). A failed read sends nothing and marks the run
 * failed.
 */
@Component
public class StreamSchedulerRoutes extends RouteBuilder {

  private final QuarryProperties properties;

  public StreamSchedulerRoutes(QuarryProperties properties) {
    this.properties = properties;
  }

  @Override
  public void configure() {
    properties.streams().forEach(this::scheduler);
  }

  private void scheduler(String stream, StreamProperties config) {
    from("quartz://mining/"
            + stream
            + "-scheduler?cron=RAW("
            + config.schedule()
            + ")&stateful=true&deleteJob=false&durableJob=true&usingFixedCamelContextName=true"
            + "&trigger.misfireInstruction=1")
        .routeId(stream + "-scheduler-tick")
        .to(FlowEndpoints.schedulerWorker(stream));

    from(FlowEndpoints.schedulerWorker(stream))
        .routeId(stream + "-scheduler")
        .setHeader(MiningScheduler.STREAM, constant(stream))
        .bean(MiningScheduler.class, "startRun")
        .process(
            exchange ->
                LogContext.put(
                    exchange, null, stream, exchange.getProperty(MiningScheduler.RUN_ID)))
        .doTry()
        .bean(MiningScheduler.class, "releaseAbandoned")
        .to("sql:classpath:sql/active-users.sql")
        .bean(MiningScheduler.class, "fanOut")
        .bean(PipelineMetrics.class, "tick(" + stream + ", succeeded)")
        .doCatch(Exception.class)
        .bean(MiningScheduler.class, "failRun")
        .bean(PipelineMetrics.class, "tick(" + stream + ", failed)")
        .end();
  }
}
