package io.quarry.outbox;

import io.quarry.config.QuarryProperties;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;

/**
 * Listens on PostgreSQL's {@code quarry_outbox} channel (notified by a trigger when outbox rows are
 * committed) and wakes the relay at once, so an event leaves within milliseconds of its commit; the
 * relay's poll stays as the fallback. A lost database connection is re-established with a backoff
 * while the poll carries on. It starts once the application is ready, not as a Spring lifecycle
 * bean: that would make Spring start Camel early, before Camel's routes are added.
 */
public class OutboxWakeup implements DisposableBean {

  /** What a notification does: wake the relay (sends to the relay's wake-up endpoint). */
  public interface Waker {
    void wake();
  }

  private static final Logger log = LoggerFactory.getLogger(OutboxWakeup.class);
  private static final String CHANNEL = "quarry_outbox";

  private final DataSource dataSource;
  private final String schema;
  private final Waker waker;
  private volatile boolean running;
  private Thread thread;

  public OutboxWakeup(DataSource dataSource, QuarryProperties properties, Waker waker) {
    this.dataSource = dataSource;
    this.schema = properties.database().schema();
    this.waker = waker;
  }

  @EventListener(ApplicationReadyEvent.class)
  public void start() {
    running = true;
    thread = new Thread(this::listen, "outbox-wakeup");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void destroy() {
    running = false;
    if (thread != null) {
      thread.interrupt();
    }
  }

  private void listen() {
    Duration backoff = Duration.ofMillis(500);
    while (running) {
      try (Connection connection = dataSource.getConnection()) {
        connection.setAutoCommit(true);
        try (Statement statement = connection.createStatement()) {
          statement.execute("LISTEN " + CHANNEL);
        }
        PGConnection pg = connection.unwrap(PGConnection.class);
        backoff = Duration.ofMillis(500);
        waker.wake(); // catch up with anything committed while we were not listening
        while (running) {
          PGNotification[] notifications = pg.getNotifications(1_000);
          if (notifications != null && mine(notifications)) {
            waker.wake();
          }
        }
      } catch (SQLException | RuntimeException e) {
        if (!running) {
          return;
        }
        log.warn(
            "Outbox wake-up lost its database connection, retrying in {}: {}",
            backoff,
            e.getMessage());
        LockSupport.parkNanos(backoff.toNanos());
        backoff =
            backoff.multipliedBy(2).compareTo(Duration.ofSeconds(30)) > 0
                ? Duration.ofSeconds(30)
                : backoff.multipliedBy(2);
      }
    }
  }

  private boolean mine(PGNotification[] notifications) {
    for (PGNotification notification : notifications) {
      if (schema.equals(notification.getParameter())) {
        return true;
      }
    }
    return false;
  }
}
