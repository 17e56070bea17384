package io.quarry.notification;

import io.quarry.config.QuarryProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.simple.JdbcClient;

/** The notification side's duplicate detection over integration events. */
@Configuration(proxyBeanMethods = false)
public class NotificationConfig {

  public static final String EVENT_IDS = "integrationEventIds";

  @Bean(EVENT_IDS)
  WindowedIdempotentRepository integrationEventIds(JdbcClient jdbc, QuarryProperties properties) {
    return new WindowedIdempotentRepository(
        jdbc, "notification-events", properties.notification().duplicateWindow());
  }
}
