// MarketTopology.cs (TopologyDeclaration) still names the servers' settings by their old name; this alias keeps it compiling
// unchanged while issue 12 changes that file. Rename the parameter there to ServiceSettings and delete this file after.
global using MarketSettings = DataExchange.ServiceDefaults.ServiceSettings;
