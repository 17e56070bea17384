package io.quarry.routes.delivery;

import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.config.InvalidConfigurationException;
import io.quarry.config.QuarryProperties;
import io.quarry.monitoring.LogContext;
import io.quarry.routes.deadletter.BusErrorHandling;
import io.quarry.storage.DataBatchCodec;
import io.quarry.storage.ReceivedBatch;
import io.quarry.storage.Subscribers;
import java.util.Map;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * The data topics' subscribers, each on its own queue at its own pace: raw storage (every item
 * once), analytics (per-user, per-day counts) and notification (a digest mail per user and run).
 */
@Component
public class DataSubscriberRoutes extends RouteBuilder {

  /**
   * What a subscriber of the configuration runs: the {@link DataBatchCodec} method that reads a
   * batch (keeping of each item only what the subscriber uses) and the {@link Subscribers} method
   * that does its work.
   */
  record Subscriber(String reader, String handler) {}

  static final Map<String, Subscriber> SUBSCRIBERS =
      Map.of(
          "raw-storage", new Subscriber("readReceived", "rawStorage"),
          "analytics", new Subscriber("readDays", "analytics"),
          "notification", new Subscriber("readChecked", "notification"));

  private final QuarryProperties properties;
  private final BusNames names;
  private final Endpoints endpoints;

  public DataSubscriberRoutes(QuarryProperties properties, BusNames names, Endpoints endpoints) {
    this.properties = properties;
    this.names = names;
    this.endpoints = endpoints;
  }

  @Override
  public void configure() {
    properties
        .streams()
        .forEach(
            (stream, config) -> {
              for (String subscriber : config.subscribers()) {
                Subscriber steps = SUBSCRIBERS.get(subscriber);
                if (steps == null) {
                  throw new InvalidConfigurationException(
                      "quarry.streams." + stream + ".subscribers",
                      "names an unknown subscriber '"
                          + subscriber
                          + "' (known: "
                          + SUBSCRIBERS.keySet()
                          + ")");
                }
                String queue = names.subscriberQueue(stream, subscriber);
                String worker = "direct:" + stream + "-" + subscriber;
                BusErrorHandling.consumeQueue(
                    this,
                    endpoints.consume(
                        names.dataTopic(stream),
                        queue,
                        properties.mining().subscriberConsumers(),
                        20),
                    queue,
                    stream + "-" + subscriber,
                    worker);

                from(worker)
                    .routeId(stream + "-" + subscriber + "-worker")
                    .routeConfigurationId(BusErrorHandling.ID)
                    .bean(DataBatchCodec.class, steps.reader())
                    .process(
                        exchange -> {
                          ReceivedBatch batch = exchange.getMessage().getBody(ReceivedBatch.class);
                          LogContext.put(exchange, batch.userId(), batch.stream(), batch.runId());
                        })
                    .bean(Subscribers.class, steps.handler());
              }
            });
  }
}
