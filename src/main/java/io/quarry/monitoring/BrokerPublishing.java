package io.quarry.monitoring;

import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.rabbit.connection.Connection;
import org.springframework.amqp.rabbit.connection.ConnectionBlockedEvent;
import org.springframework.amqp.rabbit.connection.ConnectionUnblockedEvent;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * {@code brokerPublishing}: a broker resource alarm blocks publishing while every other check stays
 * UP, so readiness follows the broker's blocked notices (OUT_OF_SERVICE, with reason and since).
 */
@Component("brokerPublishing")
public class BrokerPublishing implements HealthIndicator {

  private static final Logger log = LoggerFactory.getLogger(BrokerPublishing.class);

  /** One blocked connection: its name, the broker's reason and when the notice came. */
  record Block(String connection, String reason, Instant since) {}

  private final Map<Connection, Block> blocked = new ConcurrentHashMap<>();
  private final Clock clock;

  public BrokerPublishing(Clock clock) {
    this.clock = clock;
  }

  @EventListener
  public void blocked(ConnectionBlockedEvent event) {
    Connection connection = event.getConnection();
    String reason = event.getReason() == null ? "(no reason given)" : event.getReason();
    Block block = new Block(describe(connection), reason, clock.instant());
    blocked.put(connection, block);
    log.warn(
        "The broker blocks connection {}: \"{}\"; nothing can be published, readiness is"
            + " OUT_OF_SERVICE",
        block.connection(),
        reason);
  }

  @EventListener
  public void unblocked(ConnectionUnblockedEvent event) {
    Block block = blocked.remove(event.getConnection());
    if (block != null) {
      log.info("The broker unblocked connection {}", block.connection());
    }
  }

  @Override
  public Health health() {
    // A connection closed while blocked never hears "unblocked"; its successor is blocked anew.
    blocked.keySet().removeIf(connection -> !connection.isOpen());
    if (blocked.isEmpty()) {
      return Health.up().build();
    }
    List<Map<String, String>> details =
        blocked.values().stream()
            .sorted(Comparator.comparing(Block::since))
            .map(
                block -> {
                  Map<String, String> detail = new LinkedHashMap<>();
                  detail.put("connection", block.connection());
                  detail.put("reason", block.reason());
                  detail.put("since", block.since().toString());
                  return detail;
                })
            .toList();
    return Health.outOfService().withDetail("blocked", details).build();
  }

  private static String describe(Connection connection) {
    com.rabbitmq.client.Connection delegate = connection.getDelegate();
    String name =
        delegate != null && delegate.getClientProvidedName() != null
            ? delegate.getClientProvidedName()
            : "connection";
    return name + " (local port " + connection.getLocalPort() + ")";
  }
}
