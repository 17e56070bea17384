package io.quarry.config;

import io.quarry.config.validation.DataSizeRange;
import org.springframework.util.unit.DataSize;

/**
 * Quarry's HTTP API.
 *
 * @param maxRequestBody largest request body accepted; a larger one is answered 413 before it is
 *     read (JSON bodies of the API are a few hundred bytes)
 */
public record HttpProperties(@DataSizeRange(min = "1KB", max = "100MB") DataSize maxRequestBody) {}
