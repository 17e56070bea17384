package io.quarry.routes.mining;

import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.config.QuarryProperties;
import io.quarry.mining.ClickParser;
import io.quarry.routes.deadletter.BusErrorHandling;
import io.quarry.storage.DataBatchCodec;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * For streams with a parser stage (ad-clicks): validate and normalise raw batches, then publish.
 */
@Component
public class ParserRoutes extends RouteBuilder {

  private final QuarryProperties properties;
  private final BusNames names;
  private final Endpoints endpoints;

  public ParserRoutes(QuarryProperties properties, BusNames names, Endpoints endpoints) {
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
              if (!config.parser()) {
                return;
              }
              String queue = names.parserQueue(stream);
              BusErrorHandling.consumeQueue(
                  this,
                  endpoints.consume(
                      names.redeliverExchange(),
                      queue,
                      properties.mining().subscriberConsumers(),
                      20),
                  queue,
                  stream + "-parser",
                  "direct:" + stream + "-parser");

              from("direct:" + stream + "-parser")
                  .routeId(stream + "-parser-worker")
                  .routeConfigurationId(BusErrorHandling.ID)
                  .bean(DataBatchCodec.class, "read")
                  .id(stream + "-read-batch")
                  .bean(ClickParser.class, "parse")
                  .id(stream + "-parse-clicks")
                  .bean(DataBatchCodec.class, "write")
                  .id(stream + "-write-batch")
                  .to("quarry-amqp:exchange:" + names.dataTopic(stream))
                  .id(stream + "-publish-parsed-batch");
            });
  }
}
