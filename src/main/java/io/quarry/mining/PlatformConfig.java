package io.quarry.mining;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.config.QuarryProperties;
import io.quarry.platform.PlatformClient;
import io.quarry.platform.TokenPlacement;
import io.quarry.platform.sim.PlatformSimulator;
import java.util.List;
import java.util.Locale;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The platform API client from {@code quarry.platform}, and the simulator when asked for. */
@Configuration(proxyBeanMethods = false)
public class PlatformConfig {

  @Bean(destroyMethod = "close")
  PlatformClient platformClient(QuarryProperties properties, ObjectMapper json) {
    QuarryProperties.Platform platform = properties.platform();
    return new PlatformClient(
        new PlatformClient.Settings(
            platform.baseUrl(),
            platform.connectTimeout(),
            platform.readTimeout(),
            platform.itemsPath(),
            platform.nextMarkerPath(),
            platform.hasMorePath(),
            platform.itemIdField(),
            TokenPlacement.valueOf(platform.tokenPlacement().toUpperCase(Locale.ROOT)),
            platform.tokenParameter()),
        json,
        // every miner of every stream may wait for a page at the same time
        Math.max(
            PlatformClient.DEFAULT_MAX_CONNECTIONS,
            properties.mining().consumers() * properties.streams().size()));
  }

  /** The simulated platform API on the base URL's port (dev profile), for a local demo run. */
  @Bean(destroyMethod = "close")
  @ConditionalOnProperty(name = "quarry.platform.simulator", havingValue = "true")
  PlatformSimulator platformSimulator(QuarryProperties properties) {
    int port = properties.platform().baseUrl().getPort();
    List<String> faults = properties.platform().simulatorFaults();
    PlatformSimulator.checkFaults(faults); // before the port is taken
    return PlatformSimulator.start(port < 0 ? 80 : port)
        .latency(java.time.Duration.ofMillis(20))
        .faults(faults);
  }
}
