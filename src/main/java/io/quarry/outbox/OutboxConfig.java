package io.quarry.outbox;

import io.quarry.config.QuarryProperties;
import io.quarry.flow.FlowEndpoints;
import java.time.Clock;
import javax.sql.DataSource;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires the NOTIFY listener to the relay's wake-up endpoint. */
@Configuration(proxyBeanMethods = false)
public class OutboxConfig {

  @Bean
  Clock clock() {
    return Clock.systemUTC();
  }

  @Bean
  @ConditionalOnProperty(
      name = "quarry.outbox.listen-notify",
      havingValue = "true",
      matchIfMissing = true)
  OutboxWakeup outboxWakeup(
      DataSource dataSource,
      QuarryProperties properties,
      CamelContext camel,
      ProducerTemplate producer) {
    return new OutboxWakeup(
        dataSource,
        properties,
        () -> {
          if (camel.getStatus().isStarted()) { // before that, the poll's first run catches up
            producer.sendBody(FlowEndpoints.OUTBOX_WAKEUP, null);
          }
        });
  }
}
