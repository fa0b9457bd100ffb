module FunctionalDruid.Tests.Core.PipelineTests
