package io.quarry.bus;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.IOException;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.amqp.rabbit.connection.Connection;
import org.springframework.amqp.rabbit.connection.ConnectionListener;
import org.springframework.beans.factory.InitializingBean;

/**
 * Declares the {@link Topology} on the broker before any route starts, and again on every new
 * connection (a broker that lost a queue gets it back). Declaring is idempotent; a queue that
 * exists with other arguments stops start-up with a {@link TopologyMismatchException} that names
 * it, instead of leaving a half-declared bus behind.
 */
public class TopologyDeclarer implements InitializingBean, ConnectionListener {

  private static final Logger log = LoggerFactory.getLogger(TopologyDeclarer.class);

  private final CachingConnectionFactory connectionFactory;
  private final Topology topology;
  private volatile boolean started;

  public TopologyDeclarer(CachingConnectionFactory connectionFactory, Topology topology) {
    this.connectionFactory = connectionFactory;
    this.topology = topology;
  }

  /**
   * Declares on the first connection and fails start-up if that is refused; later connections
   * (after a broker restart) re-declare and only log a refusal.
   */
  @Override
  public void afterPropertiesSet() {
    connectionFactory.addConnectionListener(this); // declares at once if a connection is open
    connectionFactory.createConnection(); // or here, when the first connection opens
    started = true;
    log.info(
        "Declared {} exchanges, {} queues and {} bindings on the broker",
        topology.exchanges().size(),
        topology.queues().size(),
        topology.bindings().size());
  }

  @Override
  public void onCreate(Connection connection) {
    if (!started) {
      declare(connection);
      return;
    }
    try {
      declare(connection);
      log.debug("Re-declared the topology on a new broker connection");
    } catch (RuntimeException e) {
      log.error("Could not re-declare the topology on a new connection: {}", e.getMessage());
    }
  }

  /** Declares everything on one channel; the first refusal ends the declaration with its cause. */
  public void declare(Connection connection) {
    String current = "";
    try (Channel channel = connection.createChannel(false)) {
      for (Topology.Exchange exchange : topology.exchanges()) {
        current =
            "exchange '"
                + exchange.name()
                + "' ("
                + exchange.type()
                + ", durable, arguments "
                + exchange.arguments()
                + ")";
        channel.exchangeDeclare(
            exchange.name(), exchange.type(), true, false, exchange.arguments());
      }
      for (Topology.Queue queue : topology.queues()) {
        current =
            "queue '"
                + queue.name()
                + "' ("
                + queue.arguments().getOrDefault("x-queue-type", "classic")
                + ", durable, arguments "
                + queue.arguments()
                + ")";
        channel.queueDeclare(queue.name(), true, false, false, queue.arguments());
      }
      for (Topology.Binding binding : topology.bindings()) {
        current = "binding of '" + binding.queue() + "' to '" + binding.exchange() + "'";
        if (binding.toExchange()) {
          channel.exchangeBind(
              binding.queue(), binding.exchange(), binding.routingKey(), binding.arguments());
        } else {
          channel.queueBind(
              binding.queue(), binding.exchange(), binding.routingKey(), binding.arguments());
        }
      }
    } catch (IOException | TimeoutException e) {
      throw translate(current, e);
    }
  }

  private static RuntimeException translate(String what, Exception e) {
    ShutdownSignalException signal = findSignal(e);
    if (signal != null
        && signal.getReason() instanceof AMQP.Channel.Close close
        && close.getReplyCode() == AMQP.PRECONDITION_FAILED) {
      return new TopologyMismatchException(
          "The broker already has "
              + what
              + " with other settings; the broker said: "
              + close.getReplyText()
              + ". Drain and delete it, or use another quarry.environment, then start again.",
          e);
    }
    return new IllegalStateException("Could not declare " + what + ": " + e.getMessage(), e);
  }

  private static ShutdownSignalException findSignal(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ShutdownSignalException signal) {
        return signal;
      }
    }
    return null;
  }
}
