package io.quarry.scheduling;

import io.quarry.config.QuarryProperties;
import io.quarry.config.SchedulerProperties;
import java.util.Properties;
import org.apache.camel.CamelContext;
import org.apache.camel.component.quartz.QuartzComponent;
import org.apache.camel.component.quartz.QuartzConstants;
import org.apache.camel.spi.ComponentCustomizer;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.impl.jdbcjobstore.PostgreSQLDelegate;
import org.springframework.boot.autoconfigure.quartz.SchedulerFactoryBeanCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * One clustered Quartz scheduler on the PostgreSQL job store, shared by Camel's quartz component:
 * every instance runs it, each trigger fires on one instance per tick.
 */
@Configuration(proxyBeanMethods = false)
public class QuartzConfig {

  @Bean
  SchedulerFactoryBeanCustomizer quarryScheduler(QuarryProperties properties) {
    SchedulerProperties scheduler = properties.scheduler();
    return factory -> {
      Properties quartz = new Properties();
      quartz.setProperty("org.quartz.scheduler.instanceId", scheduler.effectiveInstanceId());
      quartz.setProperty("org.quartz.scheduler.skipUpdateCheck", "true");
      quartz.setProperty("org.quartz.jobStore.isClustered", "true");
      quartz.setProperty(
          "org.quartz.jobStore.driverDelegateClass", PostgreSQLDelegate.class.getName());
      quartz.setProperty("org.quartz.jobStore.useProperties", "true");
      quartz.setProperty(
          "org.quartz.jobStore.misfireThreshold",
          String.valueOf(scheduler.misfireThreshold().toMillis()));
      quartz.setProperty(
          "org.quartz.jobStore.clusterCheckinInterval",
          String.valueOf(scheduler.clusterCheckinInterval().toMillis()));
      quartz.setProperty(
          "org.quartz.threadPool.threadCount", String.valueOf(scheduler.effectiveThreadCount()));
      factory.setQuartzProperties(quartz);
      // Camel starts it (below) once its context is registered with the scheduler: a trigger
      // due at start-up must find the routes it fires.
      factory.setAutoStartup(false);
    };
  }

  /**
   * Camel's quartz endpoints use the clustered scheduler; Camel starts it after its routes, Spring
   * shuts it down.
   *
   * <p>A fired job finds its CamelContext in the firing instance's scheduler context, under the
   * name written into the job's data by the instance that first stored the job (Camel never
   * rewrites the data of a stored job). By default Camel writes, and registers its own context
   * under, the JMX management name: a per-JVM detail ({@code
   * camel.main.jmx-management-name-pattern}; two contexts in one JVM must differ), so a job stored
   * by one instance could fail on another. Quarry's quartz endpoints write the context name instead
   * ({@code usingFixedCamelContextName=true}), which {@code camel.main.name} makes the same on
   * every instance, and each instance registers its context under that name too.
   */
  @Bean
  ComponentCustomizer quartzComponentUsesTheClusteredScheduler(
      Scheduler scheduler, QuarryProperties properties) {
    return ComponentCustomizer.builder(QuartzComponent.class)
        .build(
            component -> {
              component.setScheduler(scheduler);
              component.setAutoStartScheduler(properties.scheduler().autoStartup());
              component.setPrefixJobNameWithEndpointId(false);
              registerByContextName(scheduler, component.getCamelContext());
            });
  }

  /** Where a job stored with {@code usingFixedCamelContextName=true} looks for its context. */
  private static void registerByContextName(Scheduler scheduler, CamelContext camel) {
    try {
      scheduler
          .getContext()
          .put(QuartzConstants.QUARTZ_CAMEL_CONTEXT + "-" + camel.getName(), camel);
    } catch (SchedulerException e) {
      throw new IllegalStateException("cannot register the CamelContext with Quartz", e);
    }
  }
}
